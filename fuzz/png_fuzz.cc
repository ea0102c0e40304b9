// libFuzzer target: PNG decoding as Predict/GetActivations do it (image_png from a client),
// both constrained to 28x28 (mnist) and unconstrained.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/png.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<mt::io::GrayImage> img = mt::io::DecodePngToGray(bytes, 28, 28);
  if (img.ok() && (img->width != 28 || img->height != 28 || img->pixels.size() != 28 * 28)) {
    __builtin_trap();
  }
  img = mt::io::DecodePngToGray(bytes, 0, 0);
  if (img.ok()) {
    if (static_cast<int64_t>(img->pixels.size()) != img->width * img->height) __builtin_trap();
    // Round trip: what decodes re-encodes and decodes to the same pixels.
    absl::StatusOr<std::string> png = mt::io::EncodeGrayPng(*img);
    if (png.ok()) {
      absl::StatusOr<mt::io::GrayImage> back = mt::io::DecodePngToGray(*png, 0, 0);
      if (!back.ok() || back->pixels != img->pixels) __builtin_trap();
    }
  }
  return 0;
}
