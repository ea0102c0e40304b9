#include "common/png.h"

#include <png.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace mt::io {

absl::StatusOr<GrayImage> DecodePngToGray(const std::string& bytes, int64_t width,
                                          int64_t height) {
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    std::string why = image.message;
    png_image_free(&image);
    return absl::InvalidArgumentError(
        absl::StrCat("the --image file is not a readable PNG (", bytes.size(), " bytes): ", why));
  }
  if (image.format & PNG_FORMAT_FLAG_LINEAR) {
    // libpng's simplified API treats 16-bit data as linear light and would re-encode it; rather
    // than guess the user's intent, ask for the format MNIST uses.
    png_image_free(&image);
    return absl::InvalidArgumentError(
        "the --image file has 16-bit channels; save it with 8 bits per channel (gray or RGB)");
  }
  if ((width > 0 && image.width != width) || (height > 0 && image.height != height)) {
    const int64_t w = image.width, h = image.height;
    png_image_free(&image);
    return absl::InvalidArgumentError(
        absl::StrCat("the --image picture is ", w, "x", h, "; expected ", width, "x", height));
  }
  // Even unconstrained, refuse sizes whose RGBA buffer would be unreasonable (> 256 MiB).
  if (static_cast<uint64_t>(image.width) * image.height > (64u << 20)) {
    png_image_free(&image);
    return absl::InvalidArgumentError(absl::StrCat("the --image file claims ", image.width, "x",
                                                   image.height, " pixels; that is too large"));
  }
  GrayImage out;
  out.width = image.width;
  out.height = image.height;
  // RGBA output expands gray and palette images exactly (gray g -> g,g,g,255).
  image.format = PNG_FORMAT_RGBA;
  std::vector<uint8_t> rgba(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, /*background=*/nullptr, rgba.data(), /*row_stride=*/0,
                             /*colormap=*/nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    return absl::InvalidArgumentError(absl::StrCat("image_png could not be decoded: ", why));
  }
  const int64_t n = out.width * out.height;
  out.pixels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2], a = rgba[4 * i + 3];
    const uint32_t luma = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;  // PIL's weights
    out.pixels[i] = static_cast<uint8_t>((luma * a + 127) / 255);
  }
  return out;
}

absl::StatusOr<std::string> EncodeGrayPng(const GrayImage& img) {
  if (img.width <= 0 || img.height <= 0 ||
      static_cast<int64_t>(img.pixels.size()) != img.width * img.height) {
    return absl::InvalidArgumentError(absl::StrCat("EncodeGrayPng: ", img.width, "x", img.height,
                                                   " image with ", img.pixels.size(), " pixels"));
  }
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(img.width);
  image.height = static_cast<png_uint_32>(img.height);
  image.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  if (!png_image_write_get_memory_size(image, size, 0, img.pixels.data(), 0, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    return absl::InternalError(absl::StrCat("PNG encoding failed: ", why));
  }
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&image, out.data(), &size, 0, img.pixels.data(), 0, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    return absl::InternalError(absl::StrCat("PNG encoding failed: ", why));
  }
  out.resize(size);
  return out;
}

}  // namespace mt::io
