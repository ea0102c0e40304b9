#include "server/inference_input.h"

#include "common/png.h"
#include "engine/data/mnist.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mt::server {
namespace {

using ::testing::HasSubstr;

TEST(InferenceInput, MnistPngBecomesANormalisedImageTensor) {
  io::GrayImage img;
  img.width = img.height = 28;
  img.pixels.assign(28 * 28, 0);
  img.pixels[0] = 255;
  img.pixels[28 * 28 - 1] = 51;
  train::TrainConfig config;
  config.task = "mnist";
  DataCache cache;
  ModelInput in;
  in.kind = ModelInput::Kind::kImagePng;
  in.image_png = *io::EncodeGrayPng(img);
  absl::StatusOr<PreparedInput> p = PrepareInput("job-1", config, nullptr, cache, in);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->input.shape(), (std::vector<int64_t>{1, 1, 28, 28}));
  EXPECT_EQ(p->label, -1);
  std::vector<double> v = p->input.ToVector();
  // (p / 255 - 0.1307) / 0.3081, as torchvision's Normalize.
  EXPECT_NEAR(v[0], (1.0 - 0.1307) / 0.3081, 1e-5);
  EXPECT_NEAR(v[1], (0.0 - 0.1307) / 0.3081, 1e-5);
  EXPECT_NEAR(v[28 * 28 - 1], (0.2 - 0.1307) / 0.3081, 1e-5);
}

TEST(InferenceInput, WrongSizeAndWrongKindAreRejectedSayingWhatTheTaskTakes) {
  train::TrainConfig config;
  config.task = "mnist";
  DataCache cache;
  io::GrayImage small;
  small.width = small.height = 8;
  small.pixels.assign(64, 0);
  ModelInput in;
  in.kind = ModelInput::Kind::kImagePng;
  in.image_png = *io::EncodeGrayPng(small);
  absl::StatusOr<PreparedInput> p = PrepareInput("job-1", config, nullptr, cache, in);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("mnist models take 28x28 images"));
  in.kind = ModelInput::Kind::kText;
  in.text = "hello";
  p = PrepareInput("job-1", config, nullptr, cache, in);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message(),
            "--text input is for sst2 jobs; job job-1 is mnist (use --image or --index)");
}

TEST(InferenceInput, TextBecomesIdsPaddedToTheMinimumLength) {
  absl::StatusOr<data::Vocab> vocab = data::Vocab::FromTokens({"<pad>", "<unk>", "good", "film"});
  ASSERT_TRUE(vocab.ok());
  train::TrainConfig config;
  config.task = "sst2";
  DataCache cache;
  ModelInput in;
  in.kind = ModelInput::Kind::kText;
  in.text = "Good unseen film";
  absl::StatusOr<PreparedInput> p = PrepareInput("job-2", config, &*vocab, cache, in);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->input.shape(), (std::vector<int64_t>{1, train::kSst2MinLength}));
  EXPECT_EQ(p->input.ToInt64Vector(), (std::vector<int64_t>{2, 1, 3, 0, 0}));
  in.text = "  ";
  EXPECT_EQ(PrepareInput("job-2", config, &*vocab, cache, in).status().message(),
            "text has no words");
  in.kind = ModelInput::Kind::kImagePng;
  EXPECT_EQ(PrepareInput("job-2", config, &*vocab, cache, in).status().message(),
            "--image input is for mnist jobs; job job-2 is sst2 (use --text or --index)");
}

TEST(InferenceInput, OnlyTextTasksTakeAVocabularyFromTheCheckpoint) {
  train::TrainConfig mnist;
  mnist.task = "mnist";
  absl::StatusOr<std::shared_ptr<data::Vocab>> v = InputVocabulary(mnist, {}, "ck");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, nullptr);
  train::TrainConfig sst2;
  sst2.task = "sst2";
  v = InputVocabulary(sst2, {{"mt.vocab", "<pad>\n<unk>\ngood\n"}}, "ck");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)->tokens(), (std::vector<std::string>{"<pad>", "<unk>", "good"}));
  v = InputVocabulary(sst2, {}, "ck");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(v.status().message(), "ck: checkpoint lacks the vocabulary (mt.vocab metadata)");
}

}  // namespace
}  // namespace mt::server
