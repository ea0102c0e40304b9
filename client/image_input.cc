#include "client/image_input.h"

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt::client {
namespace {

bool IsPng(const std::string& b) {
  return b.size() >= 8 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}
bool IsJpeg(const std::string& b) { return b.size() >= 3 && b.compare(0, 3, "\xff\xd8\xff") == 0; }

// Luma of one pixel of `channels` channels, alpha composited onto black.
uint8_t Gray(const uint8_t* p, int channels) {
  double v;
  double alpha = 1;
  switch (channels) {
    case 1:
      v = p[0];
      break;
    case 2:
      v = p[0];
      alpha = p[1] / 255.0;
      break;
    default:
      v = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
      if (channels == 4) alpha = p[3] / 255.0;
  }
  return static_cast<uint8_t>(std::clamp(std::lround(v * alpha), 0L, 255L));
}

}  // namespace

double BorderMean(const io::GrayImage& img) {
  if (img.width <= 0 || img.height <= 0) return 0;
  double sum = 0;
  int64_t n = 0;
  for (int64_t y = 0; y < img.height; ++y) {
    for (int64_t x = 0; x < img.width; ++x) {
      if (y == 0 || x == 0 || y == img.height - 1 || x == img.width - 1) {
        sum += img.at(x, y);
        ++n;
      }
    }
  }
  return sum / static_cast<double>(n);
}

absl::StatusOr<PreparedImage> PrepareDigitImage(const std::string& bytes, const std::string& name,
                                                bool invert, int size) {
  if (!IsPng(bytes) && !IsJpeg(bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is not a PNG or JPEG file"));
  }
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is too large"));
  }
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &channels)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " cannot be read as an image: ", stbi_failure_reason()));
  }
  if (w <= 0 || h <= 0 || static_cast<int64_t>(w) * h > kMaxImagePixels) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is ", w, "x", h, " pixels; at most ",
                                                   kMaxImagePixels / 1000000,
                                                   " megapixels are accepted"));
  }
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_memory(data, len, &w, &h, &channels, 0), stbi_image_free);
  if (!decoded) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " cannot be decoded: ", stbi_failure_reason()));
  }
  PreparedImage out;
  out.source_width = w;
  out.source_height = h;
  out.source_channels = channels;

  io::GrayImage gray;
  gray.width = w;
  gray.height = h;
  gray.pixels.resize(static_cast<size_t>(w) * h);
  for (size_t i = 0; i < gray.pixels.size(); ++i) {
    gray.pixels[i] = Gray(decoded.get() + i * channels, channels);
  }
  decoded.reset();

  // Pad to a square with the background's gray, the picture centred.
  const uint8_t background = static_cast<uint8_t>(std::lround(BorderMean(gray)));
  const int side = std::max(w, h);
  std::vector<uint8_t> square(static_cast<size_t>(side) * side, background);
  const int x0 = (side - w) / 2, y0 = (side - h) / 2;
  for (int y = 0; y < h; ++y) {
    std::copy_n(gray.pixels.begin() + static_cast<int64_t>(y) * w, w,
                square.begin() + static_cast<int64_t>(y + y0) * side + x0);
  }
  gray.pixels.clear();

  io::GrayImage& img = out.image;
  img.width = size;
  img.height = size;
  img.pixels.resize(static_cast<size_t>(size) * size);
  if (side == size) {
    img.pixels = std::move(square);
  } else if (!stbir_resize_uint8(square.data(), side, side, 0, img.pixels.data(), size, size, 0,
                                 1)) {
    return absl::InternalError(absl::StrCat("cannot resize ", name, " to ", size, "x", size));
  }
  out.light_background = BorderMean(img) > 127.5;
  if (invert) {
    for (uint8_t& p : img.pixels) p = static_cast<uint8_t>(255 - p);
  }
  absl::StatusOr<std::string> png = io::EncodeGrayPng(img);
  if (!png.ok()) return png.status();
  out.png = *std::move(png);
  return out;
}

std::string BackgroundHint(const PreparedImage& prepared, bool inverted) {
  const bool light_now = prepared.light_background != inverted;
  if (!light_now) return "";
  if (inverted) {
    return "hint: after --invert the picture has a light background, but MNIST digits are "
           "light on dark; try without --invert";
  }
  return "hint: the picture looks like a dark digit on a light background, but MNIST digits are "
         "light on dark; if the prediction looks wrong, add --invert";
}

}  // namespace mt::client
