// Inference from a job's checkpoints through the job manager: activations, predictions (a
// held-out index, a PNG, a sentence with the checkpoint's vocabulary), exports; and PNG decoding.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <thread>

#include "common/png.h"
#include "engine/data/mnist_fixture.h"
#include "engine/io/safetensors.h"
#include "server/job_manager.h"
#include "server/job_manager_test_util.h"
#include "server/store.h"

namespace mt::server {

using io::DecodePngToGray;
using io::EncodeGrayPng;
using io::GrayImage;
namespace {

namespace fs = std::filesystem;
using namespace ::mt::server::jm_testing;  // the shared fixture: data, specs, waits, streams
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using std::chrono::milliseconds;

// ---- Inference from checkpoints.

class TrainedJob : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    manager_ = MustCreate(MakeOptions(FreshDir("trained"))).release();
    ASSERT_TRUE(manager_);
    absl::StatusOr<v1::Job> job = manager_->Submit(SmallSpec(2));
    ASSERT_TRUE(job.ok()) << job.status();
    id_ = new std::string(job->id());
    ASSERT_EQ(WaitTerminal(*manager_, *id_).state(), v1::SUCCEEDED);
  }
  static void TearDownTestSuite() {
    delete manager_;
    delete id_;
  }
  static JobManager* manager_;
  static std::string* id_;
};
JobManager* TrainedJob::manager_ = nullptr;
std::string* TrainedJob::id_ = nullptr;


TEST_F(TrainedJob, ActivationsHaveTheModelsShapes) {
  ModelInput in;
  in.valid_index = 3;
  absl::StatusOr<ActivationsResult> r = manager_->Activations(*id_, in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->label, TestDigits().labels[3]);
  std::vector<std::pair<std::string, std::vector<int64_t>>> got;
  for (const Activation& a : r->layers) {
    got.emplace_back(a.layer, a.shape);
    int64_t n = 1;
    for (int64_t d : a.shape) n *= d;
    EXPECT_EQ(static_cast<int64_t>(a.data.size()), n) << a.layer;
  }
  using Shape = std::vector<int64_t>;
  EXPECT_THAT(got, ElementsAre(std::pair{std::string("conv1"), Shape{1, 6, 28, 28}},
                               std::pair{std::string("pool1"), Shape{1, 6, 14, 14}},
                               std::pair{std::string("conv2"), Shape{1, 16, 10, 10}},
                               std::pair{std::string("pool2"), Shape{1, 16, 5, 5}},
                               std::pair{std::string("fc1"), Shape{1, 120}},
                               std::pair{std::string("fc2"), Shape{1, 84}},
                               std::pair{std::string("logits"), Shape{1, 10}}));
}

TEST_F(TrainedJob, PredictGivesProbabilitiesThatSumToOne) {
  for (int64_t index : {0, 7, 49}) {
    ModelInput in;
    in.valid_index = index;
    absl::StatusOr<v1::PredictResponse> p = manager_->Predict(*id_, in);
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_EQ(p->probabilities_size(), 10);
    double sum = 0;
    int64_t argmax = 0;
    for (int i = 0; i < 10; ++i) {
      EXPECT_GE(p->probabilities(i), 0);
      sum += p->probabilities(i);
      if (p->probabilities(i) > p->probabilities(argmax)) argmax = i;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(p->predicted_class(), argmax);
    EXPECT_EQ(p->label(), TestDigits().labels[index]);
    EXPECT_EQ(p->checkpoint_epoch(), 2);
  }
}

TEST_F(TrainedJob, BadInputsAreRejectedClearly) {
  ModelInput in;
  in.valid_index = 50;  // valid_size is 50
  absl::Status s = manager_->Predict(*id_, in).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  EXPECT_THAT(s.message(), HasSubstr("50 examples"));
  in.valid_index = -1;
  EXPECT_EQ(manager_->Predict(*id_, in).status().code(), absl::StatusCode::kOutOfRange);

  ModelInput text;
  text.kind = ModelInput::Kind::kText;
  text.text = "a fine film";
  s = manager_->Predict(*id_, text).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("mnist"));

  ModelInput png;
  png.kind = ModelInput::Kind::kImagePng;
  png.image_png = "not a png";
  EXPECT_EQ(manager_->Predict(*id_, png).status().code(), absl::StatusCode::kInvalidArgument);
  GrayImage small;
  small.width = small.height = 10;
  small.pixels.assign(100, 0);
  png.image_png = *EncodeGrayPng(small);
  s = manager_->Predict(*id_, png).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("28x28"));

  // A valid header claiming 50000x50000: refused from the header, before a 10 GB buffer.
  std::string huge = *EncodeGrayPng(small);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) huge[at + i] = static_cast<char>(v >> (24 - 8 * i));
  };
  put32(16, 50000);  // IHDR width
  put32(20, 50000);  // IHDR height
  put32(29, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(huge.data() + 12), 17)));
  png.image_png = huge;
  s = manager_->Predict(*id_, png).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("50000x50000"));

  EXPECT_EQ(manager_->Predict("job-999999", in).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TrainedJob, PngInputGrayOrRgbGivesTheSamePrediction) {
  GrayImage digit = CleanDigit(3);
  ModelInput gray, rgb;
  gray.kind = rgb.kind = ModelInput::Kind::kImagePng;
  absl::StatusOr<std::string> gray_png = EncodeGrayPng(digit);
  ASSERT_TRUE(gray_png.ok());
  gray.image_png = *gray_png;
  rgb.image_png = RgbPng(digit);
  absl::StatusOr<v1::PredictResponse> a = manager_->Predict(*id_, gray);
  absl::StatusOr<v1::PredictResponse> b = manager_->Predict(*id_, rgb);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->label(), -1);
  EXPECT_EQ(a->predicted_class(), b->predicted_class());
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(a->probabilities(i), b->probabilities(i));
  absl::StatusOr<ActivationsResult> acts = manager_->Activations(*id_, rgb);
  ASSERT_TRUE(acts.ok()) << acts.status();
  EXPECT_EQ(acts->label, -1);
  EXPECT_EQ(acts->layers.front().layer, "conv1");
}

TEST_F(TrainedJob, ExportHasTheWeightsButNoOptimiserState) {
  absl::StatusOr<std::string> bytes = manager_->Export(*id_);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<io::TensorFile> file = io::DecodeSafetensors(*bytes, "export");
  ASSERT_TRUE(file.ok()) << file.status();
  bool has_conv1 = false;
  for (const auto& [name, t] : file->tensors) {
    EXPECT_NE(name.rfind("optim.", 0), 0u) << name;
    if (name == "conv1.weight") {
      has_conv1 = true;
      EXPECT_EQ(t.shape(), (std::vector<int64_t>{6, 1, 5, 5}));
    }
  }
  EXPECT_TRUE(has_conv1);
  EXPECT_EQ(file->metadata.at("format"), "pt");
  EXPECT_EQ(file->metadata.at("mt.task"), "mnist");
  EXPECT_EQ(file->metadata.at("mt.model"), "lenet5");
  EXPECT_EQ(file->metadata.at("mt.epoch"), "2");
  EXPECT_EQ(file->metadata.count("mt.rng.shuffle"), 0u);
}

// ---- SST-2: the vocabulary travels in the checkpoint; text and held-out inputs.

TEST(JobManager, Sst2JobPredictsFromTextWithTheCheckpointsVocabulary) {
  const std::string data = FreshDir("sst2_data");
  fs::create_directories(data + "/sst2");
  const std::vector<std::pair<std::string, int>> phrases = {
      {"a great and moving film", 1}, {"dull , tedious and flat", 0},
      {"wonderful acting", 1},        {"a boring mess", 0},
      {"great fun", 1},               {"flat and lifeless", 0},
      {"moving and wonderful", 1},    {"tedious", 0}};
  {
    std::ofstream train(data + "/sst2/train.tsv");
    train << "sentence\tlabel\n";
    for (int rep = 0; rep < 4; ++rep) {
      for (const auto& [text, label] : phrases) train << text << " \t" << label << "\n";
    }
    std::ofstream dev(data + "/sst2/dev.tsv");
    dev << "sentence\tlabel\n"
        << "a great film \t1\n"
        << "a dull mess \t0\n"
        << "wonderful unseenword \t1\n";
  }
  Options o = MakeOptions(FreshDir("sst2"));
  o.data_dir = data;
  std::unique_ptr<JobManager> m = MustCreate(o);
  ASSERT_TRUE(m);
  v1::JobSpec spec;
  spec.set_task("sst2");
  spec.set_epochs(1);
  spec.set_batch_size(8);
  spec.set_embedding_dim(16);
  spec.set_threads(1);
  spec.set_momentum(-1);
  absl::StatusOr<v1::Job> job = m->Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec().model(), "kim_cnn");
  ASSERT_EQ(WaitTerminal(*m, job->id()).state(), v1::SUCCEEDED)
      << m->Get(job->id())->error();

  ModelInput text;
  text.kind = ModelInput::Kind::kText;
  text.text = "A Great film with an unseenword";
  absl::StatusOr<v1::PredictResponse> p = m->Predict(job->id(), text);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->probabilities_size(), 2);
  EXPECT_NEAR(p->probabilities(0) + p->probabilities(1), 1.0, 1e-5);
  EXPECT_EQ(p->label(), -1);
  // The sentence comes back as the model saw it: token ids and their words (words seen fewer
  // than twice in training are the vocabulary's unknown token).
  EXPECT_THAT(p->input_tokens(),
              ElementsAre("a", "great", "film", "<unk>", "<unk>", "<unk>"));
  ASSERT_EQ(p->input_values_size(), 6);
  EXPECT_EQ(p->input_values(3), 1);  // <unk>'s id

  ModelInput held_out;
  held_out.valid_index = 1;
  p = m->Predict(job->id(), held_out);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->label(), 0);
  // Padded to the widest convolution (5), as the model saw it.
  EXPECT_THAT(p->input_tokens(), ElementsAre("a", "dull", "mess", "<pad>", "<pad>"));
  held_out.valid_index = 3;
  EXPECT_EQ(m->Predict(job->id(), held_out).status().code(), absl::StatusCode::kOutOfRange);

  absl::StatusOr<ActivationsResult> acts = m->Activations(job->id(), text);
  ASSERT_TRUE(acts.ok()) << acts.status();
  ASSERT_FALSE(acts->layers.empty());
  EXPECT_EQ(acts->layers.front().layer, "embedding");
  EXPECT_EQ(acts->layers.back().layer, "logits");
  EXPECT_EQ(acts->layers.back().shape, (std::vector<int64_t>{1, 2}));

  ModelInput png;
  png.kind = ModelInput::Kind::kImagePng;
  png.image_png = *EncodeGrayPng(CleanDigit(1));
  EXPECT_EQ(m->Predict(job->id(), png).status().code(), absl::StatusCode::kInvalidArgument);
  text.text = "   ";
  EXPECT_EQ(m->Predict(job->id(), text).status().code(), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::string> bytes = m->Export(job->id());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<io::TensorFile> file = io::DecodeSafetensors(*bytes, "export");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata.at("mt.model"), "kim_cnn");
  EXPECT_EQ(file->metadata.at("mt.vocab").rfind("<pad>\n<unk>\n", 0), 0u);
}

// ---- PNG decoding.

TEST(PngDecode, GrayRgbAndAlpha) {
  GrayImage digit = CleanDigit(7);
  digit.pixels[0] = 17;
  absl::StatusOr<GrayImage> g = DecodePngToGray(*EncodeGrayPng(digit));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->pixels, digit.pixels);
  g = DecodePngToGray(RgbPng(digit));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->pixels, digit.pixels);

  // Pure red → PIL's luma 76; half-transparent white → 128 on black.
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  image.width = 2;
  image.height = 1;
  image.format = PNG_FORMAT_RGBA;
  const uint8_t px[] = {255, 0, 0, 255, 255, 255, 255, 128};
  png_alloc_size_t size = 0;
  ASSERT_TRUE(png_image_write_to_memory(&image, nullptr, &size, 0, px, 0, nullptr));
  std::string bytes(size, '\0');
  ASSERT_TRUE(png_image_write_to_memory(&image, bytes.data(), &size, 0, px, 0, nullptr));
  bytes.resize(size);
  g = DecodePngToGray(bytes);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->width, 2);
  EXPECT_THAT(g->pixels, ElementsAre(76, 128));

  EXPECT_EQ(DecodePngToGray("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt::server
