#include "client/png_grid.h"


#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/atomic_file.h"

namespace mt::client {
namespace {

// Larger pictures are more likely a mistake (a huge layer) than something anyone wants to view.
constexpr int64_t kMaxPixels = int64_t{256} << 20;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Draws C maps of h x w, each scaled by (sx, sy), into a grid of `cols` columns.
absl::StatusOr<GrayImage> Tile(const float* maps, int64_t channels, int64_t h, int64_t w,
                               int64_t cols, int64_t sx, int64_t sy) {
  if (channels <= 0 || h <= 0 || w <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot draw ", channels, " maps of ", h, "x", w));
  }
  const int64_t rows = CeilDiv(channels, cols);
  const int64_t cell_w = w * sx;
  const int64_t cell_h = h * sy;
  GrayImage img;
  img.width = cols * cell_w + (cols + 1) * kSeparatorPx;
  img.height = rows * cell_h + (rows + 1) * kSeparatorPx;
  if (img.width > (1 << 24) || img.height > (1 << 24) || img.width * img.height > kMaxPixels) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", img.width, "x", img.height, " picture would be too large to write"));
  }
  img.pixels.assign(img.width * img.height, kSeparatorGray);
  std::vector<uint8_t> gray(h * w);
  for (int64_t c = 0; c < channels; ++c) {
    NormalizeToGray(maps + c * h * w, h * w, gray.data());
    const int64_t x0 = kSeparatorPx + (c % cols) * (cell_w + kSeparatorPx);
    const int64_t y0 = kSeparatorPx + (c / cols) * (cell_h + kSeparatorPx);
    for (int64_t y = 0; y < cell_h; ++y) {
      uint8_t* dst = &img.pixels[(y0 + y) * img.width + x0];
      const uint8_t* src = &gray[(y / sy) * w];
      for (int64_t x = 0; x < cell_w; ++x) dst[x] = src[x / sx];
    }
  }
  return img;
}

}  // namespace

void NormalizeToGray(const float* x, int64_t n, uint8_t* out) {
  float lo = INFINITY;
  float hi = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isfinite(x[i])) {
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
    }
  }
  const double range = static_cast<double>(hi) - lo;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]) || !(range > 0)) {
      out[i] = 0;
    } else {
      out[i] = static_cast<uint8_t>(std::lround((x[i] - lo) / range * 255.0));
    }
  }
}

int64_t MapScale(int64_t height, int64_t width) {
  const int64_t longer = std::max<int64_t>(1, std::max(height, width));
  return std::clamp<int64_t>(CeilDiv(64, longer), 1, 64);
}

absl::StatusOr<GrayImage> FeatureMapGrid(const float* maps, int64_t channels, int64_t height,
                                         int64_t width) {
  const int64_t cols = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(std::sqrt(std::max<int64_t>(channels, 1)))));
  const int64_t scale = MapScale(height, width);
  return Tile(maps, channels, height, width, cols, scale, scale);
}

absl::StatusOr<GrayImage> ChannelRows(const float* rows, int64_t channels, int64_t length) {
  // Cells stay square and large enough to see while a row spans roughly 512 px.
  const int64_t cell = std::clamp<int64_t>(CeilDiv(512, std::max<int64_t>(length, 1)), 2, 16);
  return Tile(rows, channels, 1, length, 1, cell, cell);
}

absl::Status WritePngFile(const GrayImage& image, const std::string& path) {
  absl::StatusOr<std::string> bytes = io::EncodeGrayPng(image);
  if (!bytes.ok()) return bytes.status();
  return io::WriteFileAtomically(path, *bytes);
}

}  // namespace mt::client
