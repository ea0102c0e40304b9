// Pictures of activations: a layer's feature maps tiled into one grayscale image, written as PNG
// with libpng. Each map is min-max normalised on its own, because maps of one layer differ in
// scale by orders of magnitude and a shared scale would leave most of them black.
#ifndef MT_CLIENT_PNG_GRID_H_
#define MT_CLIENT_PNG_GRID_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/png.h"

namespace mt::client {

using io::GrayImage;

// Gray level of the lines between maps and around the grid.
inline constexpr uint8_t kSeparatorGray = 128;
inline constexpr int64_t kSeparatorPx = 2;

// x: n values → 0..255, min → 0 and max → 255. A constant map (e.g. a dead ReLU channel) is all
// 0; non-finite values are ignored for the range and drawn as 0.
void NormalizeToGray(const float* x, int64_t n, uint8_t* out);

// maps: (C, H, W), contiguous (sample 0 of an (N, C, H, W) activation). Tiles the C maps in a
// near-square grid, cols = ceil(sqrt(C)), each map upscaled by an integer factor so that it is at
// least ~64 px on its longer side, with kSeparatorPx lines between and around them.
absl::StatusOr<GrayImage> FeatureMapGrid(const float* maps, int64_t channels, int64_t height,
                                         int64_t width);

// rows: (C, L), contiguous (sample 0 of an (N, C, L) activation). One row of L square cells per
// channel, stacked top to bottom with separators between rows.
absl::StatusOr<GrayImage> ChannelRows(const float* rows, int64_t channels, int64_t length);

// The integer upscaling FeatureMapGrid applies to an h x w map.
int64_t MapScale(int64_t height, int64_t width);

absl::Status WritePngFile(const GrayImage& image, const std::string& path);

}  // namespace mt::client

#endif  // MT_CLIENT_PNG_GRID_H_
