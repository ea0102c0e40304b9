#include "server/job_history.h"

#include "common/png.h"
#include "gtest/gtest.h"

namespace mt::server {
namespace {

TEST(DrawActivation, FeatureMapsBecomeAGridOfEnlargedTiles) {
  Activation a;
  a.layer = "conv";
  a.shape = {1, 2, 2, 2};  // two 2x2 maps: 0 1 / 2 3 and 4 5 / 6 7
  for (int i = 0; i < 8; ++i) a.data.push_back(static_cast<float>(i));
  absl::StatusOr<ActivationPicture> pic = DrawActivation(a);
  ASSERT_TRUE(pic.ok()) << pic.status();
  // Each value a 28x28 block (56 / 2), the maps side by side with a 1-pixel line between.
  EXPECT_EQ(pic->width, 2 * 56 + 1);
  EXPECT_EQ(pic->height, 56);
  absl::StatusOr<io::GrayImage> img = io::DecodePngToGray(pic->png);
  ASSERT_TRUE(img.ok()) << img.status();
  ASSERT_EQ(img->width, 113);
  ASSERT_EQ(img->height, 56);
  EXPECT_EQ(img->at(0, 0), 0);                 // value 0 of 0..7
  EXPECT_EQ(img->at(27, 27), 0);
  EXPECT_EQ(img->at(28, 0), 36);               // value 1: 255 / 7 = 36.4
  EXPECT_EQ(img->at(0, 28), 73);               // value 2
  EXPECT_EQ(img->at(56, 10), 128);             // the line between the maps
  EXPECT_EQ(img->at(57, 0), 146);              // value 4: 145.7
  EXPECT_EQ(img->at(112, 55), 255);            // value 7
}

TEST(DrawActivation, OneDimensionalMapsAreRowsAndVectorsAreNotDrawn) {
  Activation a;
  a.layer = "conv3";
  a.shape = {1, 3, 5};  // 3 channels of length 5
  for (int i = 0; i < 15; ++i) a.data.push_back(i == 7 ? 1.0f : 0.0f);
  absl::StatusOr<ActivationPicture> pic = DrawActivation(a);
  ASSERT_TRUE(pic.ok()) << pic.status();
  EXPECT_EQ(pic->width, 5 * 11);  // 56 / 5 = 11 pixels a value
  EXPECT_EQ(pic->height, 3 * 11);
  absl::StatusOr<io::GrayImage> img = io::DecodePngToGray(pic->png);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->at(2 * 11 + 5, 1 * 11 + 5), 255);  // channel 1, position 2
  EXPECT_EQ(img->at(0, 0), 0);

  Activation v;
  v.layer = "fc1";
  v.shape = {1, 120};
  v.data.assign(120, 0.5f);
  EXPECT_EQ(DrawActivation(v).status().code(), absl::StatusCode::kNotFound);
  Activation wrong = a;
  wrong.data.pop_back();
  EXPECT_EQ(DrawActivation(wrong).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt::server
