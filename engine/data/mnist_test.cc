#include "engine/data/mnist.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/data/test_util.h"
#include "gtest/gtest.h"

namespace mt::data {
namespace {

using ::mt::data::testing::HasError;
using ::mt::data::testing::ReadRawFile;
using ::mt::data::testing::TempPath;
using ::mt::data::testing::WriteFile;
using ::mt::data::testing::WriteGzipFile;

void AppendBigEndian(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

// An IDX3 image file: `count` images of rows x cols whose pixel k is (k * 7 + image) % 256.
std::string ImagesHeader(uint32_t count, uint32_t rows, uint32_t cols,
                         uint32_t magic = kIdxImagesMagic) {
  std::string out;
  AppendBigEndian(&out, magic);
  AppendBigEndian(&out, count);
  AppendBigEndian(&out, rows);
  AppendBigEndian(&out, cols);
  return out;
}

std::string ImagesIdx(uint32_t count, uint32_t rows, uint32_t cols,
                      uint32_t magic = kIdxImagesMagic) {
  std::string out = ImagesHeader(count, rows, cols, magic);
  for (uint32_t i = 0; i < count; ++i) {
    for (uint32_t k = 0; k < rows * cols; ++k) out.push_back(static_cast<char>((k * 7 + i) % 256));
  }
  return out;
}

std::string LabelsIdx(const std::vector<uint8_t>& labels, uint32_t magic = kIdxLabelsMagic) {
  std::string out;
  AppendBigEndian(&out, magic);
  AppendBigEndian(&out, static_cast<uint32_t>(labels.size()));
  for (uint8_t label : labels) out.push_back(static_cast<char>(label));
  return out;
}

const std::vector<uint8_t> kLabels = {3, 0, 9};

class MnistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    images_ = TempPath("images-idx3-ubyte");
    labels_ = TempPath("labels-idx1-ubyte");
    WriteFile(images_, ImagesIdx(3, 2, 4));
    WriteFile(labels_, LabelsIdx(kLabels));
  }

  std::string images_, labels_;
};

void ExpectFixture(const MnistSplit& split) {
  EXPECT_EQ(split.count, 3);
  EXPECT_EQ(split.rows, 2);
  EXPECT_EQ(split.cols, 4);
  ASSERT_EQ(split.pixels.size(), 3u * 2 * 4);
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 8; ++k) EXPECT_EQ(split.pixels[i * 8 + k], (k * 7 + i) % 256);
  }
  EXPECT_EQ(split.labels, (std::vector<int64_t>{3, 0, 9}));
}

TEST_F(MnistTest, LoadsRawFiles) {
  absl::StatusOr<MnistSplit> split = LoadMnistSplit(images_, labels_);
  ASSERT_TRUE(split.ok()) << split.status();
  ExpectFixture(*split);
}

TEST_F(MnistTest, LoadsGzippedFiles) {
  const std::string images_gz = TempPath("gz-images-idx3-ubyte.gz");
  const std::string labels_gz = TempPath("gz-labels-idx1-ubyte.gz");
  WriteGzipFile(images_gz, ImagesIdx(3, 2, 4));
  WriteGzipFile(labels_gz, LabelsIdx(kLabels));
  ASSERT_EQ(static_cast<unsigned char>(ReadRawFile(images_gz)[0]), 0x1f);
  absl::StatusOr<MnistSplit> split = LoadMnistSplit(images_gz, labels_gz);
  ASSERT_TRUE(split.ok()) << split.status();
  ExpectFixture(*split);
}

TEST_F(MnistTest, DetectsCompressionByContentNotName) {
  const std::string gz_named_raw = TempPath("raw-images-idx3-ubyte.gz");
  const std::string raw_named_gz = TempPath("gz-labels-idx1-ubyte");
  WriteFile(gz_named_raw, ImagesIdx(3, 2, 4));
  WriteGzipFile(raw_named_gz, LabelsIdx(kLabels));
  absl::StatusOr<MnistSplit> split = LoadMnistSplit(gz_named_raw, raw_named_gz);
  ASSERT_TRUE(split.ok()) << split.status();
  ExpectFixture(*split);
}

TEST_F(MnistTest, AcceptsEmptySplit) {
  WriteFile(images_, ImagesIdx(0, 28, 28));
  WriteFile(labels_, LabelsIdx({}));
  absl::StatusOr<MnistSplit> split = LoadMnistSplit(images_, labels_);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->count, 0);
  EXPECT_TRUE(split->pixels.empty());
}

TEST_F(MnistTest, MissingImagesFileIsNotFound) {
  const std::string missing = TempPath("no-such-images");
  EXPECT_TRUE(HasError(LoadMnistSplit(missing, labels_).status(), absl::StatusCode::kNotFound,
                       {missing, "not found"}));
}

TEST_F(MnistTest, MissingLabelsFileIsNotFound) {
  const std::string missing = TempPath("no-such-labels.gz");
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, missing).status(), absl::StatusCode::kNotFound,
                       {missing, "not found"}));
}

TEST_F(MnistTest, DirectoryInsteadOfFileIsInvalid) {
  const std::string dir = TempPath("");
  EXPECT_TRUE(HasError(LoadMnistSplit(dir, labels_).status(),
                       absl::StatusCode::kInvalidArgument, {"is a directory"}));
}

TEST_F(MnistTest, TruncatedImageHeaderIsDataLoss) {
  WriteFile(images_, ImagesIdx(3, 2, 4).substr(0, 10));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(), absl::StatusCode::kDataLoss,
                       {images_, "truncated header", "10 bytes", "16 bytes"}));
}

TEST_F(MnistTest, TruncatedBeforeMagicIsDataLoss) {
  WriteFile(images_, std::string("\0\0", 2));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(), absl::StatusCode::kDataLoss,
                       {images_, "truncated header"}));
}

TEST_F(MnistTest, EmptyImageFileIsDataLoss) {
  WriteFile(images_, "");
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(), absl::StatusCode::kDataLoss,
                       {images_, "truncated header", "0 bytes"}));
}

TEST_F(MnistTest, TruncatedLabelHeaderIsDataLoss) {
  WriteFile(labels_, LabelsIdx(kLabels).substr(0, 6));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(), absl::StatusCode::kDataLoss,
                       {labels_, "truncated header", "8 bytes"}));
}

TEST_F(MnistTest, TruncatedPixelsIsDataLoss) {
  const std::string full = ImagesIdx(3, 2, 4);
  WriteFile(images_, full.substr(0, full.size() - 5));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(), absl::StatusCode::kDataLoss,
                       {images_, "truncated pixel data", "promises 24 bytes", "after 19"}));
}

TEST_F(MnistTest, TruncatedLabelsIsDataLoss) {
  const std::string full = LabelsIdx(kLabels);
  WriteFile(labels_, full.substr(0, full.size() - 1));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(), absl::StatusCode::kDataLoss,
                       {labels_, "truncated label data"}));
}

TEST_F(MnistTest, GzipWithTooFewPixelsIsDataLoss) {
  // A complete gzip stream whose content is short: the header's count is the liar.
  const std::string full = ImagesIdx(3, 2, 4);
  const std::string path = TempPath("short-images.gz");
  WriteGzipFile(path, full.substr(0, full.size() - 8));
  EXPECT_TRUE(HasError(LoadMnistSplit(path, labels_).status(), absl::StatusCode::kDataLoss,
                       {path, "truncated pixel data"}));
}

TEST_F(MnistTest, CutOffGzipStreamIsDataLoss) {
  // An interrupted download: the gzip stream itself stops part-way.
  const std::string path = TempPath("cut-images.gz");
  WriteGzipFile(path, ImagesIdx(200, 28, 28));
  const std::string gz = ReadRawFile(path);
  WriteFile(path, gz.substr(0, gz.size() / 2));
  EXPECT_TRUE(HasError(LoadMnistSplit(path, labels_).status(), absl::StatusCode::kDataLoss,
                       {path, "truncated gzip stream"}));
}

TEST_F(MnistTest, GzipMissingTrailerIsDataLoss) {
  // All the data decompresses but the CRC/length trailer is gone, so it cannot be verified.
  const std::string path = TempPath("no-trailer-labels.gz");
  WriteGzipFile(path, LabelsIdx(kLabels));
  const std::string gz = ReadRawFile(path);
  WriteFile(path, gz.substr(0, gz.size() - 8));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, path).status(), absl::StatusCode::kDataLoss,
                       {path, "gzip"}));
}

TEST_F(MnistTest, CorruptGzipIsDataLoss) {
  const std::string path = TempPath("corrupt-labels.gz");
  WriteGzipFile(path, LabelsIdx(kLabels));
  std::string gz = ReadRawFile(path);
  gz[gz.size() - 6] ^= 0x55;  // inside the CRC-32 trailer
  WriteFile(path, gz);
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, path).status(), absl::StatusCode::kDataLoss,
                       {path, "corrupt gzip"}));
}

TEST_F(MnistTest, ExtraBytesAfterDataIsDataLoss) {
  WriteFile(images_, ImagesIdx(3, 2, 4) + "xx");
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(), absl::StatusCode::kDataLoss,
                       {images_, "longer than its header says"}));
}

TEST_F(MnistTest, WrongImageMagicIsInvalidArgument) {
  WriteFile(images_, ImagesIdx(3, 2, 4, /*magic=*/2052));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(),
                       absl::StatusCode::kInvalidArgument,
                       {images_, "magic number is 0x00000804 (2052)",
                        "expected 0x00000803 (2051)"}));
}

TEST_F(MnistTest, WrongLabelMagicIsInvalidArgument) {
  WriteFile(labels_, LabelsIdx(kLabels, /*magic=*/0x12345678));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(),
                       absl::StatusCode::kInvalidArgument,
                       {labels_, "not an IDX label file", "expected 0x00000801 (2049)"}));
}

TEST_F(MnistTest, SwappedPathsSayTheyMayBeSwapped) {
  EXPECT_TRUE(HasError(LoadMnistSplit(labels_, images_).status(),
                       absl::StatusCode::kInvalidArgument,
                       {labels_, "(2049)", "label file", "swapped"}));
}

TEST_F(MnistTest, LabelAboveNineIsInvalidArgument) {
  WriteFile(labels_, LabelsIdx({3, 10, 9}));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(),
                       absl::StatusCode::kInvalidArgument,
                       {labels_, "label 10 at index 1", "0-9"}));
}

TEST_F(MnistTest, CountMismatchIsInvalidArgument) {
  WriteFile(labels_, LabelsIdx({3, 0}));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(),
                       absl::StatusCode::kInvalidArgument,
                       {labels_, images_, "2 labels", "3 images"}));
}

TEST_F(MnistTest, ZeroRowsIsInvalidArgument) {
  WriteFile(images_, ImagesIdx(3, 0, 4));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(),
                       absl::StatusCode::kInvalidArgument,
                       {images_, "rows is 0", "positive"}));
}

TEST_F(MnistTest, NegativeColsIsInvalidArgument) {
  std::string bytes = ImagesIdx(1, 1, 1);
  bytes[12] = bytes[13] = bytes[14] = bytes[15] = '\xff';  // cols = -1
  WriteFile(images_, bytes);
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(),
                       absl::StatusCode::kInvalidArgument,
                       {images_, "cols is -1", "positive"}));
}

TEST_F(MnistTest, HugeCountFailsWithoutAllocatingIt) {
  // 2^31-1 images of 28x28 would be 1.7 TB; the loader must stop at the real end of the file.
  WriteFile(images_, ImagesHeader(0x7fffffff, 28, 28) + std::string(100, '\0'));
  EXPECT_TRUE(HasError(LoadMnistSplit(images_, labels_).status(), absl::StatusCode::kDataLoss,
                       {images_, "truncated pixel data", "after 100"}));
}

TEST(LoadMnist, FindsGzippedFilesInDirectory) {
  const std::string dir = TempPath("find-gz");
  ASSERT_EQ(std::system(("mkdir -p " + dir + "/mnist").c_str()), 0);
  WriteGzipFile(dir + "/mnist/t10k-images-idx3-ubyte.gz", ImagesIdx(3, 2, 4));
  WriteGzipFile(dir + "/mnist/t10k-labels-idx1-ubyte.gz", LabelsIdx(kLabels));
  // Both the mnist/ folder and the data root above it work.
  for (const std::string& d : {dir + "/mnist", dir}) {
    absl::StatusOr<MnistSplit> split = LoadMnist(d, /*train=*/false);
    ASSERT_TRUE(split.ok()) << split.status();
    ExpectFixture(*split);
  }
  EXPECT_TRUE(HasError(LoadMnist(dir, /*train=*/true).status(), absl::StatusCode::kNotFound,
                       {dir + "/mnist", "train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"}));
}

TEST(LoadMnist, FindsUncompressedFiles) {
  const std::string dir = TempPath("find-raw");
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  WriteFile(dir + "/train-images-idx3-ubyte", ImagesIdx(3, 2, 4));
  WriteFile(dir + "/train-labels-idx1-ubyte", LabelsIdx(kLabels));
  absl::StatusOr<MnistSplit> split = LoadMnist(dir, /*train=*/true);
  ASSERT_TRUE(split.ok()) << split.status();
  ExpectFixture(*split);
}

TEST(LoadMnist, MissingDirectoryIsNotFound) {
  const std::string dir = TempPath("no-such-dir");
  EXPECT_TRUE(HasError(LoadMnist(dir, true).status(), absl::StatusCode::kNotFound,
                       {dir, "does not exist"}));
}

TEST(LoadMnist, MissingLabelsFileIsNotFound) {
  const std::string dir = TempPath("no-labels");
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  WriteFile(dir + "/train-images-idx3-ubyte", ImagesIdx(3, 2, 4));
  EXPECT_TRUE(HasError(LoadMnist(dir, true).status(), absl::StatusCode::kNotFound,
                       {dir, "train-labels-idx1-ubyte.gz"}));
}

MnistSplit SmallSplit() {
  MnistSplit split;
  split.count = 3;
  split.rows = 1;
  split.cols = 2;
  split.pixels = {0, 255, 128, 1, 7, 9};
  split.labels = {4, 5, 6};
  return split;
}

TEST(NormalizeImages, MatchesTorchvisionFormula) {
  const MnistSplit split = SmallSplit();
  const int64_t indices[] = {2, 0};
  float out[4];
  NormalizeImages(split, indices, 2, out);
  auto expect = [](uint8_t p) { return (static_cast<float>(p) / 255.0f - 0.1307f) / 0.3081f; };
  EXPECT_EQ(out[0], expect(7));
  EXPECT_EQ(out[1], expect(9));
  EXPECT_EQ(out[2], expect(0));
  EXPECT_EQ(out[3], expect(255));
  // Known values of the transform at the extremes.
  EXPECT_NEAR(out[2], -0.424212918, 1e-6);
  EXPECT_NEAR(out[3], 2.821486532, 1e-6);
}

TEST(NormalizeImages, AbortsOnOutOfRangeIndex) {
  const MnistSplit split = SmallSplit();
  const int64_t indices[] = {3};
  float out[2];
  EXPECT_DEATH(NormalizeImages(split, indices, 1, out), "indices\\[0\\] = 3 is outside");
}

TEST(GatherLabels, FollowsIndices) {
  const MnistSplit split = SmallSplit();
  const int64_t indices[] = {1, 1, 0, 2};
  int64_t out[4];
  GatherLabels(split, indices, 4, out);
  EXPECT_EQ(std::vector<int64_t>(out, out + 4), (std::vector<int64_t>{5, 5, 4, 6}));
}

TEST(TakeFirst, KeepsLeadingExamples) {
  const MnistSplit split = SmallSplit();
  const MnistSplit two = TakeFirst(split, 2);
  EXPECT_EQ(two.count, 2);
  EXPECT_EQ(two.rows, 1);
  EXPECT_EQ(two.cols, 2);
  EXPECT_EQ(two.pixels, (std::vector<uint8_t>{0, 255, 128, 1}));
  EXPECT_EQ(two.labels, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(TakeFirst(split, 10).count, 3);
  EXPECT_EQ(TakeFirst(split, -1).count, 0);
}

}  // namespace
}  // namespace mt::data
