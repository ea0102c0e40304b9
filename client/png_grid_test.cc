#include "client/png_grid.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace mt::client {
namespace {

// Decodes with libpng's reader, independently of how the file was written.
GrayImage Decode(const void* data, size_t size) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  EXPECT_TRUE(png_image_begin_read_from_memory(&png, data, size)) << png.message;
  EXPECT_EQ(png.format & PNG_FORMAT_FLAG_COLOR, 0u) << "written as grayscale";
  png.format = PNG_FORMAT_GRAY;
  GrayImage img;
  img.width = png.width;
  img.height = png.height;
  img.pixels.resize(PNG_IMAGE_SIZE(png));
  EXPECT_TRUE(png_image_finish_read(&png, nullptr, img.pixels.data(), 0, nullptr)) << png.message;
  return img;
}

GrayImage DecodeFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  std::string bytes;
  char buf[4096];
  size_t n;
  while (f != nullptr && (n = std::fread(buf, 1, sizeof(buf), f)) > 0) bytes.append(buf, n);
  if (f != nullptr) std::fclose(f);
  return Decode(bytes.data(), bytes.size());
}

std::string TmpPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

TEST(NormalizeToGray, MinMaxPerMap) {
  const float x[] = {-1, 0, 1, 3};
  uint8_t g[4];
  NormalizeToGray(x, 4, g);
  EXPECT_EQ(g[0], 0);
  EXPECT_EQ(g[1], 64);  // 1/4 of the range
  EXPECT_EQ(g[2], 128);
  EXPECT_EQ(g[3], 255);
}

TEST(NormalizeToGray, ConstantAndNonFinite) {
  const float flat[] = {2, 2, 2};
  uint8_t g[3] = {9, 9, 9};
  NormalizeToGray(flat, 3, g);
  EXPECT_EQ(g[0], 0);
  EXPECT_EQ(g[2], 0);
  const float odd[] = {NAN, 1, INFINITY, 2};
  uint8_t h[4];
  NormalizeToGray(odd, 4, h);
  EXPECT_EQ(h[0], 0);
  EXPECT_EQ(h[1], 0);
  EXPECT_EQ(h[2], 0);
  EXPECT_EQ(h[3], 255);
}

TEST(MapScale, SmallMapsGrowToAboutSixtyFourPixels) {
  EXPECT_EQ(MapScale(28, 28), 3);
  EXPECT_EQ(MapScale(4, 4), 16);
  EXPECT_EQ(MapScale(1, 1), 64);
  EXPECT_EQ(MapScale(2, 100), 1);
  EXPECT_EQ(MapScale(100, 100), 1);
}

TEST(FeatureMapGrid, LayoutAndPixelsSurviveAPngRoundTrip) {
  // (C=3, H=2, W=3): map 0 counts 0..5, map 1 is constant, map 2 counts down.
  std::vector<float> maps = {0, 1, 2, 3, 4, 5,  //
                             7, 7, 7, 7, 7, 7,  //
                             5, 4, 3, 2, 1, 0};
  absl::StatusOr<GrayImage> grid = FeatureMapGrid(maps.data(), 3, 2, 3);
  ASSERT_TRUE(grid.ok()) << grid.status();
  // 2x2 grid (one cell empty), each map scaled by ceil(64/3) = 22 to 66x44, 2 px lines.
  const int64_t s = 22;
  EXPECT_EQ(grid->width, 2 * 3 * s + 3 * kSeparatorPx);
  EXPECT_EQ(grid->height, 2 * 2 * s + 3 * kSeparatorPx);

  const std::string path = TmpPath("grid.png");
  ASSERT_TRUE(WritePngFile(*grid, path).ok());
  GrayImage back = DecodeFile(path);
  ASSERT_EQ(back.width, grid->width);
  ASSERT_EQ(back.height, grid->height);
  EXPECT_EQ(back.pixels, grid->pixels);

  auto map_pixel = [&](int map, int64_t row, int64_t col) {
    const int64_t x0 = kSeparatorPx + (map % 2) * (3 * s + kSeparatorPx);
    const int64_t y0 = kSeparatorPx + (map / 2) * (2 * s + kSeparatorPx);
    // The middle of the upscaled cell.
    return back.at(x0 + col * s + s / 2, y0 + row * s + s / 2);
  };
  EXPECT_EQ(map_pixel(0, 0, 0), 0);
  EXPECT_EQ(map_pixel(0, 0, 1), 51);
  EXPECT_EQ(map_pixel(0, 1, 2), 255);
  EXPECT_EQ(map_pixel(1, 1, 1), 0);  // constant map
  EXPECT_EQ(map_pixel(2, 0, 0), 255);
  EXPECT_EQ(map_pixel(2, 1, 2), 0);
  // Lines around and between maps, and the unused fourth cell.
  EXPECT_EQ(back.at(0, 0), kSeparatorGray);
  EXPECT_EQ(back.at(kSeparatorPx + 3 * s, 10), kSeparatorGray);
  EXPECT_EQ(back.at(back.width - 1, back.height - 1), kSeparatorGray);
  EXPECT_EQ(back.at(back.width - 10, back.height - 10), kSeparatorGray);
}

TEST(FeatureMapGrid, SixChannelsOfTwentyFourPixelsLikeLeNetConv1) {
  std::vector<float> maps(6 * 24 * 24);
  for (size_t i = 0; i < maps.size(); ++i) maps[i] = static_cast<float>(i % 24);
  absl::StatusOr<GrayImage> grid = FeatureMapGrid(maps.data(), 6, 24, 24);
  ASSERT_TRUE(grid.ok()) << grid.status();
  // ceil(sqrt(6)) = 3 columns, 2 rows, scale 3 → 72 px maps.
  EXPECT_EQ(grid->width, 3 * 72 + 4 * kSeparatorPx);
  EXPECT_EQ(grid->height, 2 * 72 + 3 * kSeparatorPx);
  absl::StatusOr<std::string> png = io::EncodeGrayPng(*grid);
  ASSERT_TRUE(png.ok());
  GrayImage back = Decode(png->data(), png->size());
  EXPECT_EQ(back.width, grid->width);
  EXPECT_EQ(back.pixels, grid->pixels);
}

TEST(ChannelRows, OneRowOfCellsPerChannel) {
  std::vector<float> rows = {0, 1, 2, 3,  //
                             3, 2, 1, 0};
  absl::StatusOr<GrayImage> img = ChannelRows(rows.data(), 2, 4);
  ASSERT_TRUE(img.ok()) << img.status();
  const int64_t cell = 16;  // 512/4 capped at 16
  EXPECT_EQ(img->width, 4 * cell + 2 * kSeparatorPx);
  EXPECT_EQ(img->height, 2 * cell + 3 * kSeparatorPx);
  absl::StatusOr<std::string> png = io::EncodeGrayPng(*img);
  ASSERT_TRUE(png.ok());
  GrayImage back = Decode(png->data(), png->size());
  EXPECT_EQ(back.at(kSeparatorPx + 3 * cell + 1, kSeparatorPx + 1), 255);
  EXPECT_EQ(back.at(kSeparatorPx + 1, 2 * kSeparatorPx + cell + 1), 255);
  EXPECT_EQ(back.at(kSeparatorPx + 1, kSeparatorPx + cell), kSeparatorGray);
}

TEST(FeatureMapGrid, RejectsNothingToDrawAndHugePictures) {
  float x = 0;
  EXPECT_FALSE(FeatureMapGrid(&x, 0, 1, 1).ok());
  EXPECT_FALSE(io::EncodeGrayPng(GrayImage()).ok());
  // 2^20 maps of 64x64 would be a 2^32-pixel picture: refused before any allocation.
  EXPECT_FALSE(FeatureMapGrid(&x, int64_t{1} << 20, 64, 64).ok());
}

TEST(WritePngFile, ReportsAnUnwritablePath) {
  GrayImage img{1, 1, {0}};
  absl::Status s = WritePngFile(img, "/nonexistent-dir/x.png");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-dir/x.png"), std::string::npos);
}

}  // namespace
}  // namespace mt::client
