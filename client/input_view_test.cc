#include "client/input_view.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace mt::client {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(EchoImage, StretchesValuesToBlackAndWhite) {
  InputEcho e;
  e.shape = {1, 2, 3};
  e.values = {-1.0f, 0.0f, 1.0f, 3.0f, -1.0f, 1.0f};
  absl::StatusOr<io::GrayImage> img = EchoImage(e);
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ(img->width, 3);
  EXPECT_EQ(img->height, 2);
  EXPECT_EQ(img->pixels, (std::vector<uint8_t>{0, 64, 128, 255, 0, 128}));
  e.shape = {2, 3};  // no batch dimension: the same
  EXPECT_EQ(EchoImage(e)->pixels, img->pixels);
  e.values.assign(6, 0.5f);  // flat: black, not a division by zero
  EXPECT_EQ(EchoImage(e)->pixels, std::vector<uint8_t>(6, 0));
  e.shape = {7};
  EXPECT_EQ(EchoImage(e).status().code(), absl::StatusCode::kInvalidArgument);
  e.shape = {2, 4};
  EXPECT_EQ(EchoImage(e).status().message(),
            "the daemon's input of shape [2, 4] with 6 values is not a picture");
}

TEST(AsciiPicture, TwoCharactersPerPixelDarkToLight) {
  io::GrayImage img;
  img.width = 4;
  img.height = 2;
  img.pixels = {0, 255, 128, 0, 30, 60, 200, 0};
  EXPECT_EQ(AsciiPicture(img), "  @@++\n..::##\n");
}

TEST(SaveInput, PictureOrTokens) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/input_view/out";
  InputEcho e;
  e.shape = {1, 1, 2};
  e.values = {0.0f, 2.0f};
  absl::StatusOr<std::string> path = SaveInput(dir, e);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, dir + "/input.png");
  absl::StatusOr<io::GrayImage> back = io::DecodePngToGray(Slurp(*path));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->pixels, (std::vector<uint8_t>{0, 255}));

  InputEcho t;
  t.tokens = {"a", "<unk>", "film"};
  EXPECT_EQ(TokensLine(t.tokens), "input tokens: a <unk> film");
  path = SaveInput(dir, t);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, dir + "/input.txt");
  EXPECT_EQ(Slurp(*path), "a <unk> film\n");
  EXPECT_EQ(*SaveInput(dir, InputEcho()), "");
}

}  // namespace
}  // namespace mt::client
