// The task registry: both tasks registered with their models, defaults and class names; input
// preparation for serving, with exact values and today's messages; unknown tasks named.
#include "engine/tasks/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "engine/data/mnist_fixture.h"
#include "engine/train/config.h"

namespace mt::tasks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(Registry, BothTasksAreRegisteredSortedByName) {
  EXPECT_THAT(TaskNames(), ElementsAre("mnist", "sst2"));
  ASSERT_EQ(AllTasks().size(), 2u);
  EXPECT_EQ(AllTasks()[0], FindTask("mnist"));
  EXPECT_EQ(AllTasks()[1], FindTask("sst2"));
  EXPECT_EQ(FindTask("cifar"), nullptr);
  absl::StatusOr<const Task*> t = GetTask("cifar");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(), "invalid task 'cifar': must be mnist or sst2");
  EXPECT_EQ(GetTask("").status().message(), "invalid task '': must be mnist or sst2");
  EXPECT_EQ(*GetTask("sst2"), FindTask("sst2"));
}

TEST(Registry, JoinNames) {
  EXPECT_EQ(JoinNames({}), "");
  EXPECT_EQ(JoinNames({"a"}), "a");
  EXPECT_EQ(JoinNames({"a", "b"}), "a or b");
  EXPECT_EQ(JoinNames({"a", "b", "c"}, "and"), "a, b and c");
}

TEST(Registry, ModelsClassNamesAndWhatEachTaskTakes) {
  const Task& mnist = *FindTask("mnist");
  EXPECT_THAT(mnist.models(), ElementsAre("lenet5", "minitorch_mnist"));
  EXPECT_EQ(mnist.default_model(), "lenet5");
  EXPECT_TRUE(mnist.HasModel("minitorch_mnist"));
  EXPECT_FALSE(mnist.HasModel("kim_cnn"));
  EXPECT_THAT(mnist.class_names(),
              ElementsAre("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));
  EXPECT_TRUE(mnist.accepts_images());
  EXPECT_EQ(mnist.info().image_height, 28);
  EXPECT_EQ(mnist.info().image_width, 28);
  EXPECT_FALSE(mnist.info().accepts_text);
  EXPECT_FALSE(mnist.info().word_vectors);
  EXPECT_EQ(mnist.info().valid_split, "test");
  EXPECT_EQ(mnist.info().image_hint, " (mnist models take 28x28 images, white ink on black)");
  EXPECT_FALSE(mnist.info().description.empty());

  const Task& sst2 = *FindTask("sst2");
  EXPECT_THAT(sst2.models(), ElementsAre("kim_cnn"));
  EXPECT_EQ(sst2.default_model(), "kim_cnn");
  EXPECT_THAT(sst2.class_names(), ElementsAre("negative", "positive"));
  EXPECT_FALSE(sst2.accepts_images());
  EXPECT_TRUE(sst2.info().accepts_text);
  EXPECT_TRUE(sst2.info().word_vectors);
  EXPECT_EQ(sst2.info().valid_split, "dev");
}

// The values train::DefaultConfig gave before the registry existed.
TEST(Registry, DefaultsPerTaskAndModel) {
  train::TrainConfig l = train::DefaultConfig("mnist", "lenet5");
  EXPECT_EQ(l.task, "mnist");
  EXPECT_EQ(l.model, "lenet5");
  EXPECT_EQ(l.epochs, 10);
  EXPECT_EQ(l.batch_size, 64);
  EXPECT_EQ(l.optimizer, "sgd");
  EXPECT_EQ(l.lr, 0.05);
  EXPECT_EQ(l.momentum, 0.9);
  EXPECT_EQ(l.lr_decay, 0.7);
  EXPECT_EQ(l.min_count, 1);

  train::TrainConfig m = train::DefaultConfig("mnist", "minitorch_mnist");
  EXPECT_EQ(m.epochs, 10);
  EXPECT_EQ(m.batch_size, 64);
  EXPECT_EQ(m.optimizer, "adam");
  EXPECT_EQ(m.lr, 2e-3);
  EXPECT_EQ(m.momentum, 0.0);
  EXPECT_EQ(m.lr_decay, 1.0);

  train::TrainConfig s = train::DefaultConfig("sst2", "kim_cnn");
  EXPECT_EQ(s.task, "sst2");
  EXPECT_EQ(s.epochs, 4);
  EXPECT_EQ(s.batch_size, 50);
  EXPECT_EQ(s.optimizer, "adam");
  EXPECT_EQ(s.lr, 5e-4);
  EXPECT_EQ(s.momentum, 0.0);
  EXPECT_EQ(s.lr_decay, 1.0);
  EXPECT_EQ(s.min_count, 2);
  EXPECT_EQ(s.embedding_dim, 128);
  EXPECT_EQ(s.dropout, 0.5);

  // Both routes agree.
  EXPECT_EQ(train::ToJson(FindTask("sst2")->Defaults("kim_cnn")), train::ToJson(s));
  // A model the task lacks still gets a base that Validate then names.
  train::TrainConfig bad = train::DefaultConfig("mnist", "resnet");
  EXPECT_EQ(bad.optimizer, "sgd");
  EXPECT_THAT(std::string(train::Validate(bad).message()),
              HasSubstr("invalid model 'resnet': task mnist supports lenet5, minitorch_mnist"));
}

// The keys the daemon's data cache used before the registry: loading depends on these fields.
TEST(Registry, DataKeyNamesWhatLoadingReads) {
  train::TrainConfig m = train::DefaultConfig("mnist", "lenet5");
  m.data_dir = "/d";
  m.train_size = 100;
  EXPECT_EQ(FindTask("mnist")->DataKey(m), "mnist|/d|100|0");
  train::TrainConfig s = train::DefaultConfig("sst2", "kim_cnn");
  s.data_dir = "/d";
  s.seed = 7;
  EXPECT_EQ(FindTask("sst2")->DataKey(s), "sst2|/d|0|0|2||128");
  s.embeddings_path = "/g.txt";
  s.embedding_dim = 50;
  EXPECT_EQ(FindTask("sst2")->DataKey(s), "sst2|/d|0|0|2|/g.txt|50|7");
}

InputContext Context(const std::string& task) {
  InputContext c;
  c.who = "job j1";
  c.config = train::DefaultConfig(task, FindTask(task)->default_model());
  return c;
}

TEST(MnistInput, ImageBecomesANormalisedBatchOfOne) {
  std::vector<uint8_t> pixels(28 * 28, 0);
  pixels[0] = 255;
  pixels[28 * 28 - 1] = 51;  // 0.2 of full ink
  absl::StatusOr<Example> e = FindTask("mnist")->ImageExample(Context("mnist"), 28, 28, pixels);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->input.shape(), (Shape{1, 1, 28, 28}));
  EXPECT_EQ(e->input.dtype(), DType::kFloat32);
  EXPECT_EQ(e->label, -1);
  std::vector<double> v = e->input.ToVector();
  // (p / 255 - 0.1307) / 0.3081, as training batches are normalised.
  EXPECT_NEAR(v[0], 2.8214865, 1e-6);
  EXPECT_NEAR(v[1], -0.4242129, 1e-6);
  EXPECT_NEAR(v[28 * 28 - 1], (0.2 - 0.1307) / 0.3081, 1e-6);
  for (size_t i = 1; i + 1 < v.size(); ++i) ASSERT_EQ(v[i], v[1]) << i;
}

TEST(MnistInput, WrongSizeAndWrongKindsAreNamed) {
  const Task& mnist = *FindTask("mnist");
  absl::StatusOr<Example> e =
      mnist.ImageExample(Context("mnist"), 14, 28, std::vector<uint8_t>(14 * 28));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(),
            "image is 28x14 with 392 pixels (mnist models take 28x28 images, white ink on black)");
  e = mnist.TextExample(Context("mnist"), "a fine film");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(),
            "--text input is for sst2 jobs; job j1 is mnist (use --image or --index)");
}

TEST(MnistInput, ValidExampleComesFromTheLoadedTestSplit) {
  data::MnistSplit test = data::testing::SyntheticDigits(3, 9);
  auto loaded = std::make_shared<train::TaskData>();
  loaded->valid = std::make_unique<train::MnistDataset>(test);
  InputContext c = Context("mnist");
  c.data = [loaded]() -> absl::StatusOr<std::shared_ptr<const train::TaskData>> {
    return std::shared_ptr<const train::TaskData>(loaded);
  };
  const Task& mnist = *FindTask("mnist");
  absl::StatusOr<Example> e = mnist.ValidExample(c, 2);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->label, test.labels[2]);
  const int64_t two = 2;
  EXPECT_EQ(e->input.ToVector(), loaded->valid->Get(&two, 1).input.ToVector());
  EXPECT_EQ(e->input.shape(), (Shape{1, 1, 28, 28}));
  e = mnist.ValidExample(c, 3);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(e.status().message(),
            "--index 3 is out of range: job j1's held-out split (MNIST test) has 3 "
            "examples (0..2)");
  EXPECT_EQ(mnist.ValidExample(c, -1).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(MnistTask, LoadsTheSplitsAndChecksSizes) {
  const std::string dir = TempDir("mnist_task");
  data::testing::WriteMnistIdx(dir, data::testing::SyntheticDigits(20, 1),
                               data::testing::SyntheticDigits(8, 2));
  train::TrainConfig c = train::DefaultConfig("mnist", "lenet5");
  c.data_dir = dir;
  c.train_size = 12;
  absl::StatusOr<train::TaskData> d = FindTask("mnist")->Load(c);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->train->size(), 12);
  EXPECT_EQ(d->valid->size(), 8);
  EXPECT_EQ(d->train_name, "train");
  EXPECT_EQ(d->valid_name, "test");
  c.train_size = 21;
  EXPECT_EQ(FindTask("mnist")->Load(c).status().message(),
            "invalid train_size '21': the MNIST training split has only 20 examples (0 = all)");
  absl::StatusOr<std::unique_ptr<models::Model>> net = FindTask("mnist")->BuildModel(c, *d);
  ASSERT_TRUE(net.ok());
  EXPECT_EQ((*net)->name(), "lenet5");
  EXPECT_TRUE((*net)->is_flat());
}

class Sst2Input : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<data::Vocab> v = data::Vocab::FromTokens({"<pad>", "<unk>", "good", "movie"});
    ASSERT_TRUE(v.ok());
    context_ = Context("sst2");
    context_.vocab = std::make_shared<data::Vocab>(std::move(*v));
    dir_ = TempDir("sst2_task");
    std::filesystem::create_directories(dir_ + "/sst2");
    std::ofstream(dir_ + "/sst2/dev.tsv")
        << "sentence\tlabel\ngood movie \t1\na bad good bad good movie ok \t0\n";
    context_.config.data_dir = dir_;
  }
  InputContext context_;
  std::string dir_;
};

TEST_F(Sst2Input, SentenceBecomesIdsPaddedToTheMinimumLength) {
  const Task& sst2 = *FindTask("sst2");
  absl::StatusOr<Example> e = sst2.TextExample(context_, "Good MOVIE, really");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->input.dtype(), DType::kInt64);
  EXPECT_EQ(e->input.shape(), (Shape{1, 5}));  // kSst2MinLength
  // "movie," is one token (whitespace splitting), unknown like "really".
  EXPECT_EQ(e->input.ToInt64Vector(), (std::vector<int64_t>{2, 1, 1, 0, 0}));
  EXPECT_EQ(e->label, -1);
  e = sst2.TextExample(context_, "good good good movie movie movie good");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->input.ToInt64Vector(), (std::vector<int64_t>{2, 2, 2, 3, 3, 3, 2}));
  EXPECT_EQ(sst2.TextExample(context_, "  \t ").status().message(), "text has no words");
  EXPECT_EQ(sst2.ImageExample(context_, 28, 28, std::vector<uint8_t>(784)).status().message(),
            "--image input is for mnist jobs; job j1 is sst2 (use --text or --index)");
}

TEST_F(Sst2Input, ValidExampleReadsTheDevSplitWithTheModelsVocabulary) {
  const Task& sst2 = *FindTask("sst2");
  absl::StatusOr<Example> e = sst2.ValidExample(context_, 1);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->label, 0);
  EXPECT_EQ(e->input.ToInt64Vector(), (std::vector<int64_t>{1, 1, 2, 1, 2, 3, 1}));
  e = sst2.ValidExample(context_, 0);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->label, 1);
  EXPECT_EQ(e->input.ToInt64Vector(), (std::vector<int64_t>{2, 3, 0, 0, 0}));
  e = sst2.ValidExample(context_, 2);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(e.status().message(),
            "--index 2 is out of range: job j1's held-out split (SST-2 dev) has 2 examples "
            "(0..1)");
  context_.config.valid_size = 1;
  EXPECT_EQ(sst2.ValidExample(context_, 1).status().message(),
            "--index 1 is out of range: job j1's held-out split (SST-2 dev) has 1 examples "
            "(0..0)");
}

}  // namespace
}  // namespace mt::tasks
