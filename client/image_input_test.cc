#include "client/image_input.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <png.h>
#include <stb/stb_image_write.h>

#include <cstring>

namespace mt::client {
namespace {

using ::testing::HasSubstr;

// A PNG of `channels` channels written with libpng's own writer (independent of the decoder).
std::string Png(int w, int h, int channels, const std::vector<uint8_t>& pixels) {
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  image.width = w;
  image.height = h;
  image.format = channels == 1   ? PNG_FORMAT_GRAY
                 : channels == 2 ? PNG_FORMAT_GA
                 : channels == 3 ? PNG_FORMAT_RGB
                                 : PNG_FORMAT_RGBA;
  png_alloc_size_t size = 0;
  EXPECT_TRUE(png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), 0, nullptr));
  std::string out(size, '\0');
  EXPECT_TRUE(png_image_write_to_memory(&image, out.data(), &size, 0, pixels.data(), 0, nullptr));
  out.resize(size);
  return out;
}

std::string Jpeg(int w, int h, int channels, const std::vector<uint8_t>& pixels) {
  std::string out;
  stbi_write_jpg_to_func(
      [](void* ctx, void* data, int n) {
        static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), n);
      },
      &out, w, h, channels, pixels.data(), 100);
  return out;
}

TEST(PrepareDigitImage, A28x28GrayPictureIsSentUnchanged) {
  std::vector<uint8_t> px(28 * 28);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i % 251);
  absl::StatusOr<PreparedImage> p = PrepareDigitImage(Png(28, 28, 1, px), "d.png", false);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->image.width, 28);
  EXPECT_EQ(p->image.height, 28);
  EXPECT_EQ(p->image.pixels, px);
  EXPECT_EQ(p->source_channels, 1);
  absl::StatusOr<io::GrayImage> sent = io::DecodePngToGray(p->png, 28, 28);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->pixels, px);
}

TEST(PrepareDigitImage, ColourBecomesLumaAndAlphaGoesOntoBlack) {
  // 28x28 RGBA: left half opaque pure green, right half fully transparent white.
  std::vector<uint8_t> px;
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      if (x < 14) {
        px.insert(px.end(), {0, 255, 0, 255});
      } else {
        px.insert(px.end(), {255, 255, 255, 0});
      }
    }
  }
  absl::StatusOr<PreparedImage> p = PrepareDigitImage(Png(28, 28, 4, px), "g.png", false);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->source_channels, 4);
  EXPECT_EQ(p->image.at(0, 0), 150);  // round(0.587 * 255)
  EXPECT_EQ(p->image.at(27, 27), 0);  // transparent: black
}

TEST(PrepareDigitImage, AnySizeIsPaddedToASquareAndResized) {
  // 60 wide, 20 high, uniform: padding takes the border's gray, so every pixel stays 200.
  std::vector<uint8_t> px(60 * 20 * 3, 200);
  absl::StatusOr<PreparedImage> p = PrepareDigitImage(Png(60, 20, 3, px), "wide.png", false);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->source_width, 60);
  EXPECT_EQ(p->source_height, 20);
  EXPECT_EQ(p->image.pixels, std::vector<uint8_t>(28 * 28, 200));

  // A white bar in the middle of a black 280x140 picture lands in the middle rows, shrunk by
  // 10: the picture is centred in a 280x280 square, so rows 70..209 hold it (7..20 after).
  std::vector<uint8_t> bar(280 * 140, 0);
  for (int y = 60; y < 80; ++y) {
    for (int x = 40; x < 240; ++x) bar[y * 280 + x] = 255;
  }
  p = PrepareDigitImage(Png(280, 140, 1, bar), "bar.png", false);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_GT(p->image.at(14, 14), 200);  // source row 140 (= 70 + 70), inside the bar
  EXPECT_LT(p->image.at(14, 5), 10);    // above the picture: padding
  EXPECT_LT(p->image.at(14, 23), 10);   // below it
  EXPECT_LT(p->image.at(1, 14), 10);    // left of the bar
  EXPECT_FALSE(p->light_background);
}

TEST(PrepareDigitImage, ADarkDigitOnWhiteGetsAHintOrIsInverted) {
  std::vector<uint8_t> px(100 * 100, 255);
  for (int y = 30; y < 70; ++y) {
    for (int x = 45; x < 55; ++x) px[y * 100 + x] = 0;
  }
  const std::string file = Png(100, 100, 1, px);
  absl::StatusOr<PreparedImage> p = PrepareDigitImage(file, "paper.png", false);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->light_background);
  EXPECT_EQ(p->image.at(0, 0), 255);
  EXPECT_EQ(BackgroundHint(*p, false),
            "hint: the picture looks like a dark digit on a light background, but MNIST digits "
            "are light on dark; if the prediction looks wrong, add --invert");
  absl::StatusOr<PreparedImage> inv = PrepareDigitImage(file, "paper.png", true);
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(inv->light_background);  // of the picture as given
  for (size_t i = 0; i < p->image.pixels.size(); ++i) {
    ASSERT_EQ(inv->image.pixels[i], 255 - p->image.pixels[i]) << i;
  }
  EXPECT_EQ(BackgroundHint(*inv, true), "");
  // A light-on-dark picture needs no hint, and --invert on it gets one.
  for (uint8_t& v : px) v = static_cast<uint8_t>(255 - v);
  absl::StatusOr<PreparedImage> mnist_like = PrepareDigitImage(Png(100, 100, 1, px), "d.png", true);
  ASSERT_TRUE(mnist_like.ok());
  EXPECT_EQ(BackgroundHint(*mnist_like, false), "");
  EXPECT_THAT(BackgroundHint(*mnist_like, true), HasSubstr("try without --invert"));
}

TEST(PrepareDigitImage, JpegToo) {
  std::vector<uint8_t> px(56 * 56 * 3, 0);
  for (int y = 14; y < 42; ++y) {
    for (int x = 24; x < 32; ++x) {
      for (int c = 0; c < 3; ++c) px[(y * 56 + x) * 3 + c] = 255;
    }
  }
  const std::string jpg = Jpeg(56, 56, 3, px);
  ASSERT_GT(jpg.size(), 100u);
  absl::StatusOr<PreparedImage> p = PrepareDigitImage(jpg, "photo.jpg", false);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->source_width, 56);
  EXPECT_EQ(p->source_channels, 3);
  EXPECT_GT(p->image.at(14, 14), 200);  // the stroke, halved in size
  EXPECT_LT(p->image.at(3, 14), 20);
}

TEST(PrepareDigitImage, NotAPictureOrTooLarge) {
  absl::Status s = PrepareDigitImage("GIF89a....", "anim.gif", false).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "anim.gif is not a PNG or JPEG file");
  // A PNG header promising 10000x10000 pixels is refused before any decoding.
  std::string huge = Png(1, 1, 1, {0});
  for (int at : {16, 20}) {  // IHDR width, height: big-endian 10000 = 0x2710
    huge[at] = 0;
    huge[at + 1] = 0;
    huge[at + 2] = 0x27;
    huge[at + 3] = 0x10;
  }
  s = PrepareDigitImage(huge, "huge.png", false).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "huge.png is 10000x10000 pixels; at most 50 megapixels are accepted");
  s = PrepareDigitImage(std::string("\x89PNG\r\n\x1a\n", 8) + "garbage", "bad.png", false).status();
  EXPECT_THAT(s.message(), HasSubstr("bad.png cannot be read as an image"));
}

}  // namespace
}  // namespace mt::client
