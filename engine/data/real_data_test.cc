// Loads the real MNIST and SST-2 files and checks them against the published statistics in
// shared/data/README.md. The data is not part of the repository, so this test looks only where
// MT_DATA_DIR points (the folder holding mnist/ and sst2/, as scripts/fetch_data.sh lays it out)
// and skips otherwise. Bazel does not pass the environment through by default:
//   bazel test //engine/data:real_data_test --test_env=MT_DATA_DIR=$PWD/data
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/data/input_file.h"
#include "engine/data/mnist.h"
#include "engine/data/sst2.h"
#include "gtest/gtest.h"

namespace mt::data {
namespace {

// Returns the data root, or "" after explaining why there is none.
std::string DataDir(const std::vector<std::string>& needed, std::string* why) {
  const char* dir = std::getenv("MT_DATA_DIR");
  if (dir == nullptr || *dir == '\0') {
    *why =
        "MT_DATA_DIR is not set; run scripts/fetch_data.sh and pass "
        "--test_env=MT_DATA_DIR=<repo>/data to check the real datasets";
    return "";
  }
  for (const std::string& file : needed) {
    const std::string path = std::string(dir) + "/" + file;
    if (!IsRegularFile(path)) {
      *why = "MT_DATA_DIR=" + std::string(dir) + " lacks " + file +
             "; run scripts/fetch_data.sh --dest " + dir;
      return "";
    }
  }
  return dir;
}

std::array<int64_t, 10> ClassCounts(const MnistSplit& split) {
  std::array<int64_t, 10> counts{};
  for (int64_t label : split.labels) ++counts[label];
  return counts;
}

TEST(RealData, Mnist) {
  std::string why;
  const std::string dir =
      DataDir({"mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz",
               "mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"},
              &why);
  if (dir.empty()) GTEST_SKIP() << why;

  absl::StatusOr<MnistSplit> train = LoadMnist(dir + "/mnist", /*train=*/true);
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->count, 60000);
  EXPECT_EQ(train->rows, 28);
  EXPECT_EQ(train->cols, 28);
  EXPECT_EQ(train->pixels.size(), 60000u * 28 * 28);
  EXPECT_EQ(ClassCounts(*train), (std::array<int64_t, 10>{5923, 6742, 5958, 6131, 5842, 5421,
                                                            5918, 6265, 5851, 5949}));
  EXPECT_EQ(train->labels[0], 5);  // the famous first training digit

  absl::StatusOr<MnistSplit> test = LoadMnist(dir, /*train=*/false);
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->count, 10000);
  EXPECT_EQ(ClassCounts(*test), (std::array<int64_t, 10>{980, 1135, 1032, 1010, 982, 892, 958,
                                                           1028, 974, 1009}));
  EXPECT_EQ(test->labels[0], 7);

  // The normalisation constants are the training set's own mean and std.
  std::vector<int64_t> all(train->count);
  for (int64_t i = 0; i < train->count; ++i) all[i] = i;
  std::vector<float> x(train->pixels.size());
  NormalizeImages(*train, all.data(), train->count, x.data());
  double sum = 0, sum_sq = 0;
  for (float v : x) {
    sum += v;
    sum_sq += static_cast<double>(v) * v;
  }
  const double mean = sum / x.size();
  EXPECT_NEAR(mean, 0.0, 1e-3);
  EXPECT_NEAR(sum_sq / x.size() - mean * mean, 1.0, 1e-3);
}

int64_t CountLabel(const std::vector<SentenceExample>& examples, int64_t label) {
  int64_t n = 0;
  for (const SentenceExample& e : examples) n += e.label == label;
  return n;
}

TEST(RealData, Sst2) {
  std::string why;
  const std::string dir = DataDir({"sst2/train.tsv", "sst2/dev.tsv", "sst2/test.tsv"}, &why);
  if (dir.empty()) GTEST_SKIP() << why;

  absl::StatusOr<std::vector<SentenceExample>> train = LoadSst2(dir, Sst2Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->size(), 67349u);
  EXPECT_EQ(CountLabel(*train, 0), 29780);
  EXPECT_EQ(CountLabel(*train, 1), 37569);

  absl::StatusOr<std::vector<SentenceExample>> dev = LoadSst2(dir + "/sst2", Sst2Split::kDev);
  ASSERT_TRUE(dev.ok()) << dev.status();
  EXPECT_EQ(dev->size(), 872u);
  EXPECT_EQ(CountLabel(*dev, 0), 428);
  EXPECT_EQ(CountLabel(*dev, 1), 444);

  absl::StatusOr<std::vector<SentenceExample>> test = LoadSst2(dir, Sst2Split::kTest);
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->size(), 1821u);

  // Tokenisation reproduces the README's statistics: 15,756 train+dev types, longest train
  // phrase 52 tokens, longest dev sentence 47.
  std::vector<SentenceExample> both = *train;
  both.insert(both.end(), dev->begin(), dev->end());
  EXPECT_EQ(Vocab::Build(both, 1).size(), 15756 + 2);
  const Vocab vocab = Vocab::Build(*train, 1);
  size_t train_max = 0, dev_max = 0;
  for (const EncodedExample& e : EncodeExamples(vocab, *train)) {
    train_max = std::max(train_max, e.ids.size());
  }
  for (const EncodedExample& e : EncodeExamples(vocab, *dev)) {
    dev_max = std::max(dev_max, e.ids.size());
  }
  EXPECT_EQ(train_max, 52u);
  EXPECT_EQ(dev_max, 47u);
}

}  // namespace
}  // namespace mt::data
