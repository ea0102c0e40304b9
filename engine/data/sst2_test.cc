#include "engine/data/sst2.h"

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

// Laid out exactly like GLUE's train.tsv: a trailing space before each TAB.
constexpr char kTrainTsv[] =
    "sentence\tlabel\n"
    "hide new secretions from the parental units \t0\n"
    "the greatest musicians \t1\n"
    "it 's a charming and often affecting journey . \t1\n"
    "the greatest ... \t0\n";

constexpr char kTestTsv[] =
    "index\tsentence\n"
    "0\tuneasy mishmash of styles and genres .\n"
    "1\tthis film 's relationship to actual tension is the same as what christmas-tree "
    "flocking in a spray can is to actual snow\n";

std::vector<std::string> Sentences(const std::vector<SentenceExample>& examples) {
  std::vector<std::string> out;
  for (const SentenceExample& e : examples) out.push_back(e.sentence);
  return out;
}

std::vector<int64_t> Labels(const std::vector<SentenceExample>& examples) {
  std::vector<int64_t> out;
  for (const SentenceExample& e : examples) out.push_back(e.label);
  return out;
}

TEST(LoadSst2Labeled, ParsesGlueLayout) {
  const std::string path = TempPath("train.tsv");
  WriteFile(path, kTrainTsv);
  absl::StatusOr<std::vector<SentenceExample>> examples = LoadSst2Labeled(path);
  ASSERT_TRUE(examples.ok()) << examples.status();
  EXPECT_EQ(Sentences(*examples),
            (std::vector<std::string>{"hide new secretions from the parental units",
                                      "the greatest musicians",
                                      "it 's a charming and often affecting journey .",
                                      "the greatest ..."}));
  EXPECT_EQ(Labels(*examples), (std::vector<int64_t>{0, 1, 1, 0}));
}

TEST(LoadSst2Labeled, AcceptsCrlfGzipAndNoFinalNewline) {
  const std::string path = TempPath("crlf.tsv.gz");
  WriteGzipFile(path, "sentence\tlabel\r\ngood fun \t1\r\nbad \t0");
  absl::StatusOr<std::vector<SentenceExample>> examples = LoadSst2Labeled(path);
  ASSERT_TRUE(examples.ok()) << examples.status();
  EXPECT_EQ(Sentences(*examples), (std::vector<std::string>{"good fun", "bad"}));
  EXPECT_EQ(Labels(*examples), (std::vector<int64_t>{1, 0}));
}

TEST(LoadSst2Labeled, HeaderOnlyGivesNoExamples) {
  const std::string path = TempPath("header-only.tsv");
  WriteFile(path, "sentence\tlabel\n");
  absl::StatusOr<std::vector<SentenceExample>> examples = LoadSst2Labeled(path);
  ASSERT_TRUE(examples.ok()) << examples.status();
  EXPECT_TRUE(examples->empty());
}

TEST(LoadSst2Labeled, MissingFileIsNotFound) {
  const std::string path = TempPath("no-such.tsv");
  EXPECT_TRUE(HasError(LoadSst2Labeled(path).status(), absl::StatusCode::kNotFound,
                       {path, "not found"}));
}

TEST(LoadSst2Labeled, EmptyFileIsInvalid) {
  const std::string path = TempPath("empty.tsv");
  WriteFile(path, "");
  EXPECT_TRUE(HasError(LoadSst2Labeled(path).status(), absl::StatusCode::kInvalidArgument,
                       {path, "empty file", "sentence\\tlabel"}));
}

TEST(LoadSst2Labeled, MissingHeaderIsInvalid) {
  const std::string path = TempPath("no-header.tsv");
  WriteFile(path, "the greatest musicians \t1\nbad \t0\n");
  EXPECT_TRUE(HasError(LoadSst2Labeled(path).status(), absl::StatusCode::kInvalidArgument,
                       {path + ":1:", "missing header", "sentence\\tlabel"}));
}

TEST(LoadSst2Labeled, WrongHeaderIsInvalid) {
  const std::string path = TempPath("wrong-header.tsv");
  WriteFile(path, "text\tpolarity\nbad \t0\n");
  EXPECT_TRUE(HasError(LoadSst2Labeled(path).status(), absl::StatusCode::kInvalidArgument,
                       {path + ":1:", "bad header", "text\\tpolarity"}));
}

TEST(LoadSst2Labeled, TestSplitPointsToUnlabeledLoader) {
  const std::string path = TempPath("test-as-labeled.tsv");
  WriteFile(path, kTestTsv);
  EXPECT_TRUE(HasError(LoadSst2Labeled(path).status(), absl::StatusCode::kInvalidArgument,
                       {path + ":1:", "unlabelled", "LoadSst2Unlabeled"}));
}

TEST(LoadSst2Labeled, LineWithoutTabNamesLine) {
  const std::string path = TempPath("no-tab.tsv");
  WriteFile(path, "sentence\tlabel\ngood \t1\nthis line has no tab 1\n");
  EXPECT_TRUE(HasError(LoadSst2Labeled(path).status(), absl::StatusCode::kInvalidArgument,
                       {path + ":3:", "expected 2 TAB-separated fields", "found 1"}));
}

TEST(LoadSst2Labeled, LineWithExtraFieldNamesLine) {
  const std::string path = TempPath("extra-field.tsv");
  WriteFile(path, "sentence\tlabel\ngood \t1\t0\n");
  EXPECT_TRUE(HasError(LoadSst2Labeled(path).status(), absl::StatusCode::kInvalidArgument,
                       {path + ":2:", "found 3"}));
}

TEST(LoadSst2Labeled, BlankLineInMiddleIsMalformed) {
  const std::string path = TempPath("blank-line.tsv");
  WriteFile(path, "sentence\tlabel\ngood \t1\n\nbad \t0\n");
  EXPECT_TRUE(HasError(LoadSst2Labeled(path).status(), absl::StatusCode::kInvalidArgument,
                       {path + ":3:", "found 1"}));
}

TEST(LoadSst2Labeled, BadLabelNamesLine) {
  for (const char* label : {"2", "-1", "pos", "", "1 "}) {
    const std::string path = TempPath("bad-label.tsv");
    WriteFile(path, std::string("sentence\tlabel\ngood \t1\nfine \t") + label + "\n");
    EXPECT_TRUE(HasError(LoadSst2Labeled(path).status(), absl::StatusCode::kInvalidArgument,
                         {path + ":3:", "label must be 0 or 1"}))
        << "label '" << label << "'";
  }
}

TEST(LoadSst2Labeled, EmptySentenceNamesLine) {
  const std::string path = TempPath("empty-sentence.tsv");
  WriteFile(path, "sentence\tlabel\n \t1\n");
  EXPECT_TRUE(HasError(LoadSst2Labeled(path).status(), absl::StatusCode::kInvalidArgument,
                       {path + ":2:", "empty sentence"}));
}

TEST(LoadSst2Unlabeled, ParsesTestSplit) {
  const std::string path = TempPath("test.tsv");
  WriteFile(path, kTestTsv);
  absl::StatusOr<std::vector<SentenceExample>> examples = LoadSst2Unlabeled(path);
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_EQ(examples->size(), 2u);
  EXPECT_EQ((*examples)[0].sentence, "uneasy mishmash of styles and genres .");
  EXPECT_EQ(Labels(*examples), (std::vector<int64_t>{kNoLabel, kNoLabel}));
}

TEST(LoadSst2Unlabeled, LabeledFileIsInvalid) {
  const std::string path = TempPath("train-as-test.tsv");
  WriteFile(path, kTrainTsv);
  EXPECT_TRUE(HasError(LoadSst2Unlabeled(path).status(), absl::StatusCode::kInvalidArgument,
                       {path + ":1:", "labelled", "LoadSst2Labeled"}));
}

TEST(LoadSst2Unlabeled, OutOfOrderIndexNamesLine) {
  const std::string path = TempPath("bad-index.tsv");
  WriteFile(path, "index\tsentence\n0\tfine\n5\tskipped some\n");
  EXPECT_TRUE(HasError(LoadSst2Unlabeled(path).status(), absl::StatusCode::kInvalidArgument,
                       {path + ":3:", "index must be 1", "'5'"}));
}

TEST(LoadSst2, FindsSplitsInFolderOrDataRoot) {
  const std::string root = TempPath("sst2-root");
  ASSERT_EQ(std::system(("mkdir -p " + root + "/sst2").c_str()), 0);
  WriteFile(root + "/sst2/train.tsv", kTrainTsv);
  WriteFile(root + "/sst2/dev.tsv", "sentence\tlabel\nok \t1\n");
  WriteFile(root + "/sst2/test.tsv", kTestTsv);
  for (const std::string& dir : {root, root + "/sst2"}) {
    absl::StatusOr<std::vector<SentenceExample>> train = LoadSst2(dir, Sst2Split::kTrain);
    ASSERT_TRUE(train.ok()) << train.status();
    EXPECT_EQ(train->size(), 4u);
    absl::StatusOr<std::vector<SentenceExample>> dev = LoadSst2(dir, Sst2Split::kDev);
    ASSERT_TRUE(dev.ok()) << dev.status();
    EXPECT_EQ(dev->size(), 1u);
    absl::StatusOr<std::vector<SentenceExample>> test = LoadSst2(dir, Sst2Split::kTest);
    ASSERT_TRUE(test.ok()) << test.status();
    EXPECT_EQ(test->size(), 2u);
  }
  const std::string missing = TempPath("no-sst2");
  EXPECT_TRUE(HasError(LoadSst2(missing, Sst2Split::kTrain).status(),
                       absl::StatusCode::kNotFound, {missing, "does not exist"}));
  const std::string empty_dir = TempPath("empty-sst2");
  ASSERT_EQ(std::system(("mkdir -p " + empty_dir).c_str()), 0);
  EXPECT_TRUE(HasError(LoadSst2(empty_dir, Sst2Split::kDev).status(),
                       absl::StatusCode::kNotFound, {empty_dir + "/dev.tsv"}));
}

TEST(Tokenize, LowercasesAndSplitsOnWhitespace) {
  EXPECT_EQ(Tokenize("  It 's  A\tGood\nfilm --  CAFÉ "),
            (std::vector<std::string>{"it", "'s", "a", "good", "film", "--", "cafÉ"}));
  EXPECT_TRUE(Tokenize(" \t ").empty());
}

TEST(Vocab, ReservesPadAndUnk) {
  const Vocab vocab;
  EXPECT_EQ(vocab.size(), 2);
  EXPECT_EQ(vocab.Token(Vocab::kPadId), "<pad>");
  EXPECT_EQ(vocab.Token(Vocab::kUnkId), "<unk>");
  EXPECT_EQ(vocab.Id("anything"), Vocab::kUnkId);
}

std::vector<SentenceExample> VocabCorpus() {
  return {{"b a c", 1}, {"a B d", 0}, {"a c <unk>", 1}};
}

TEST(Vocab, OrdersByCountThenAlphabetically) {
  const Vocab vocab = Vocab::Build(VocabCorpus(), /*min_count=*/1);
  // a:3, b:2, c:2, d:1; "<unk>" in the text maps to the reserved id, not a new one.
  EXPECT_EQ(vocab.tokens(), (std::vector<std::string>{"<pad>", "<unk>", "a", "b", "c", "d"}));
  EXPECT_EQ(vocab.Id("a"), 2);
  EXPECT_EQ(vocab.Id("d"), 5);
  EXPECT_EQ(vocab.Id("<unk>"), Vocab::kUnkId);
}

TEST(Vocab, MinCountDropsRareTokens) {
  const Vocab vocab = Vocab::Build(VocabCorpus(), /*min_count=*/2);
  EXPECT_EQ(vocab.tokens(), (std::vector<std::string>{"<pad>", "<unk>", "a", "b", "c"}));
  EXPECT_EQ(vocab.Id("d"), Vocab::kUnkId);
  EXPECT_EQ(Vocab::Build(VocabCorpus(), 0).size(), 6);
}

TEST(Vocab, EncodeLowercasesAndMapsUnknownToUnk) {
  const Vocab vocab = Vocab::Build(VocabCorpus(), 1);
  EXPECT_EQ(vocab.Encode("A d  zebra C"), (std::vector<int64_t>{2, 5, Vocab::kUnkId, 4}));
  EXPECT_TRUE(vocab.Encode("").empty());
}

TEST(Vocab, FromTokensRoundTrips) {
  const Vocab vocab = Vocab::Build(VocabCorpus(), 1);
  absl::StatusOr<Vocab> copy = Vocab::FromTokens(vocab.tokens());
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->tokens(), vocab.tokens());
  EXPECT_EQ(copy->Id("c"), vocab.Id("c"));
  EXPECT_TRUE(HasError(Vocab::FromTokens({"a", "<unk>"}).status(),
                       absl::StatusCode::kInvalidArgument, {"<pad>"}));
  EXPECT_TRUE(HasError(Vocab::FromTokens({"<pad>", "<unk>", "x", "x"}).status(),
                       absl::StatusCode::kInvalidArgument, {"repeats"}));
}

TEST(MakeTokenBatch, PadsToLongestInBatchNotDataset) {
  const std::vector<EncodedExample> examples = {
      {{5, 6, 7}, 1}, {{8}, 0}, {{9, 10, 11, 12, 13, 14, 15, 16}, 1}, {{}, 0}};
  const int64_t indices[] = {1, 0};
  const TokenBatch batch = MakeTokenBatch(examples, indices, 2);
  EXPECT_EQ(batch.batch_size, 2);
  EXPECT_EQ(batch.max_len, 3);  // not 8, the longest example overall
  EXPECT_EQ(batch.ids, (std::vector<int64_t>{8, 0, 0, 5, 6, 7}));
  EXPECT_EQ(batch.lengths, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(batch.labels, (std::vector<int64_t>{0, 1}));
}

TEST(MakeTokenBatch, MinLenPadsShortBatches) {
  const std::vector<EncodedExample> examples = {{{5, 6}, 1}, {{}, 0}, {{1, 2, 3, 4, 5, 6}, 1}};
  const int64_t short_ones[] = {0, 1};
  const TokenBatch batch = MakeTokenBatch(examples, short_ones, 2, /*min_len=*/5);
  EXPECT_EQ(batch.max_len, 5);
  EXPECT_EQ(batch.ids, (std::vector<int64_t>{5, 6, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(batch.lengths, (std::vector<int64_t>{2, 0}));
  // min_len never truncates.
  const int64_t long_one[] = {2};
  EXPECT_EQ(MakeTokenBatch(examples, long_one, 1, 5).max_len, 6);
}

TEST(MakeTokenBatch, AbortsOnOutOfRangeIndex) {
  const std::vector<EncodedExample> examples = {{{5}, 1}};
  const int64_t indices[] = {0, 1};
  EXPECT_DEATH(MakeTokenBatch(examples, indices, 2), "indices\\[1\\] = 1 is outside");
}

TEST(EncodeExamples, KeepsLabels) {
  const Vocab vocab = Vocab::Build(VocabCorpus(), 1);
  const std::vector<EncodedExample> encoded = EncodeExamples(vocab, VocabCorpus());
  ASSERT_EQ(encoded.size(), 3u);
  EXPECT_EQ(encoded[1].ids, (std::vector<int64_t>{2, 3, 5}));
  EXPECT_EQ(encoded[1].label, 0);
}

}  // namespace
}  // namespace mt::data
