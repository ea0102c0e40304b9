// 8-bit grayscale PNG decoding and encoding with libpng: image inputs for the daemon (mnist
// Predict / GetActivations) and activation pictures written by mt-client.
#ifndef MT_COMMON_PNG_H_
#define MT_COMMON_PNG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mt::io {

struct GrayImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // (height, width) row-major

  uint8_t at(int64_t x, int64_t y) const { return pixels[y * width + x]; }
};

// Accepts 8-bit gray, gray+alpha, RGB, RGBA and palette PNGs. Colour becomes luma as PIL's
// convert("L") computes it (0.299 R + 0.587 G + 0.114 B on the stored values), so an image a
// user prepared in Python reads the same here. Transparent pixels are composited onto black,
// MNIST's background. InvalidArgument when the bytes are not a PNG, use 16-bit channels, or
// (when width/height are given) have another size: that is checked from the header, before any
// pixel buffer is allocated, so a tiny file claiming a huge image costs nothing.
absl::StatusOr<GrayImage> DecodePngToGray(const std::string& bytes, int64_t width = 0,
                                          int64_t height = 0);

// Encodes 8-bit grayscale as PNG (tests, and activation pictures).
absl::StatusOr<std::string> EncodeGrayPng(const GrayImage& image);

}  // namespace mt::io

#endif  // MT_COMMON_PNG_H_
