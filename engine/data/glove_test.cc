#include "engine/data/glove.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/data/test_util.h"
#include "gtest/gtest.h"

namespace mt::data {
namespace {

using ::mt::data::testing::HasError;
using ::mt::data::testing::TempPath;
using ::mt::data::testing::WriteFile;
using ::mt::data::testing::WriteGzipFile;

// ids: <pad>=0 <unk>=1 good=2 bad=3 film=4 zzz=5
Vocab TestVocab() {
  return Vocab::Build({{"good good good bad bad film zzz", 1}, {"good bad film", 0}}, 1);
}

constexpr char kGlove[] =
    "the 0.1 0.2 0.3\n"
    "good 1.5 -2 3e-1\n"
    "film -0.25 0 1\n"
    "good 9 9 9\n"  // a repeat: the first occurrence wins
    "bad 4 5 6\n";

TEST(LoadGlove, CopiesFoundRowsAndRandomisesTheRest) {
  const Vocab vocab = TestVocab();
  ASSERT_EQ(vocab.tokens(),
            (std::vector<std::string>{"<pad>", "<unk>", "good", "bad", "film", "zzz"}));
  const std::string path = TempPath("glove.txt");
  WriteFile(path, kGlove);
  absl::StatusOr<PretrainedEmbeddings> emb = LoadGlove(path, vocab);
  ASSERT_TRUE(emb.ok()) << emb.status();
  EXPECT_EQ(emb->vocab_size, 6);
  EXPECT_EQ(emb->dim, 3);
  EXPECT_EQ(emb->found, 3);    // good, bad, film
  EXPECT_EQ(emb->missing, 2);  // <unk>, zzz
  ASSERT_EQ(emb->weights.size(), 18u);
  auto row = [&](int64_t id) {
    return std::vector<float>(emb->weights.begin() + id * 3, emb->weights.begin() + id * 3 + 3);
  };
  EXPECT_EQ(row(0), (std::vector<float>{0, 0, 0}));  // padding stays zero
  EXPECT_EQ(row(2), (std::vector<float>{1.5f, -2.0f, 0.3f}));
  EXPECT_EQ(row(3), (std::vector<float>{4, 5, 6}));
  EXPECT_EQ(row(4), (std::vector<float>{-0.25f, 0, 1}));
  for (int64_t id : {1, 5}) {
    for (float v : row(id)) {
      EXPECT_GE(v, -0.25f);
      EXPECT_LE(v, 0.25f);
      EXPECT_NE(v, 0.0f);
    }
  }
}

TEST(LoadGlove, RandomRowsDependOnSeedOnly) {
  const Vocab vocab = TestVocab();
  const std::string path = TempPath("glove-seed.txt");
  WriteFile(path, kGlove);
  GloveOptions options;
  options.seed = 42;
  absl::StatusOr<PretrainedEmbeddings> a = LoadGlove(path, vocab, options);
  absl::StatusOr<PretrainedEmbeddings> b = LoadGlove(path, vocab, options);
  options.seed = 43;
  absl::StatusOr<PretrainedEmbeddings> c = LoadGlove(path, vocab, options);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->weights, b->weights);
  EXPECT_NE(a->weights, c->weights);
  options.init_range = 0.01f;
  absl::StatusOr<PretrainedEmbeddings> narrow = LoadGlove(path, vocab, options);
  ASSERT_TRUE(narrow.ok());
  for (int j = 0; j < 3; ++j) EXPECT_LE(std::abs(narrow->weights[1 * 3 + j]), 0.01f);
}

TEST(LoadGlove, ReadsGzipAndWord2VecHeader) {
  const std::string path = TempPath("vectors.vec.gz");
  WriteGzipFile(path, std::string("2 3\n") + "good 1 2 3\n\nbad 4 5 6 \n");
  absl::StatusOr<PretrainedEmbeddings> emb = LoadGlove(path, TestVocab());
  ASSERT_TRUE(emb.ok()) << emb.status();
  EXPECT_EQ(emb->dim, 3);
  EXPECT_EQ(emb->found, 2);
  EXPECT_EQ(emb->missing, 3);
  EXPECT_EQ(emb->weights[2 * 3 + 2], 3.0f);
  EXPECT_EQ(emb->weights[3 * 3 + 0], 4.0f);
}

TEST(LoadGlove, DimensionMismatchNamesLine) {
  const std::string path = TempPath("glove-bad-dim.txt");
  WriteFile(path, "the 0.1 0.2 0.3\ngood 1 2 3\nbad 4 5\n");
  EXPECT_TRUE(HasError(LoadGlove(path, TestVocab()).status(),
                       absl::StatusCode::kInvalidArgument,
                       {path + ":3:", "'bad' has 2 values, expected 3", "line 1"}));
}

TEST(LoadGlove, DimensionMismatchOnUnusedWordIsStillCaught) {
  const std::string path = TempPath("glove-bad-dim-unused.txt");
  WriteFile(path, "good 1 2 3\nxylophone 4 5 6 7\n");
  EXPECT_TRUE(HasError(LoadGlove(path, TestVocab()).status(),
                       absl::StatusCode::kInvalidArgument, {path + ":2:", "4 values"}));
}

TEST(LoadGlove, HeaderDimensionMismatchNamesLine) {
  const std::string path = TempPath("vec-bad-dim.txt");
  WriteFile(path, "1 50\ngood 1 2 3\n");
  EXPECT_TRUE(HasError(LoadGlove(path, TestVocab()).status(),
                       absl::StatusCode::kInvalidArgument,
                       {path + ":2:", "expected 50", "header"}));
}

TEST(LoadGlove, ExpectedDimMismatchIsInvalid) {
  const std::string path = TempPath("glove-expected.txt");
  WriteFile(path, kGlove);
  GloveOptions options;
  options.expected_dim = 50;
  EXPECT_TRUE(HasError(LoadGlove(path, TestVocab(), options).status(),
                       absl::StatusCode::kInvalidArgument,
                       {path + ":1:", "3 values", "dimension is 50"}));
}

TEST(LoadGlove, NonNumericValueNamesLine) {
  const std::string path = TempPath("glove-nan.txt");
  WriteFile(path, "good 1 2 3\nbad 4 five 6\n");
  EXPECT_TRUE(HasError(LoadGlove(path, TestVocab()).status(),
                       absl::StatusCode::kInvalidArgument,
                       {path + ":2:", "value 2 of word 'bad'", "'five'"}));
}

TEST(LoadGlove, WordWithoutValuesIsInvalid) {
  const std::string path = TempPath("glove-novalues.txt");
  WriteFile(path, "good\n");
  EXPECT_TRUE(HasError(LoadGlove(path, TestVocab()).status(),
                       absl::StatusCode::kInvalidArgument, {path + ":1:", "no values"}));
}

TEST(LoadGlove, EmptyFileIsInvalid) {
  for (const char* contents : {"", "\n\n", "400000 50\n"}) {
    const std::string path = TempPath("glove-empty.txt");
    WriteFile(path, contents);
    EXPECT_TRUE(HasError(LoadGlove(path, TestVocab()).status(),
                         absl::StatusCode::kInvalidArgument, {path, "empty file"}))
        << "contents '" << contents << "'";
  }
}

TEST(LoadGlove, MissingFileIsNotFound) {
  const std::string path = TempPath("no-such-glove.txt");
  EXPECT_TRUE(HasError(LoadGlove(path, TestVocab()).status(), absl::StatusCode::kNotFound,
                       {path, "not found"}));
}

// The daemon reads paths clients send: a file that is not a vector file (here shaped like
// /etc/passwd and like prose) must not have its content echoed back in the error.
TEST(LoadGlove, ContentOfANonVectorFileIsNeverEchoed) {
  const std::string path = TempPath("not-glove.txt");
  for (const char* contents : {"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n",
                               "good secret words here\n", "good secretword\n",
                               "secret_a 1 2\nsecret_b 3\n"}) {
    WriteFile(path, contents);
    absl::Status s = LoadGlove(path, TestVocab()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    std::string message(s.message());
    ASSERT_EQ(message.rfind(path, 0), 0u) << message;  // the path (ours) may be anywhere
    message = message.substr(path.size());
    for (const char* secret : {"root", "bin", "secret", "words", "daemon"}) {
      EXPECT_EQ(message.find(secret), std::string::npos) << secret << " echoed in: " << s;
    }
  }
}

}  // namespace
}  // namespace mt::data
