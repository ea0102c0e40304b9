// GLUE SST-2 sentiment data (TSV), a word vocabulary, and padded token batches for it.
//
// Error codes: NotFound when a file or folder does not exist; DataLoss when a gzipped file is
// damaged; InvalidArgument for every format problem. Format messages read "<path>:<line>: ...".
#ifndef MT_ENGINE_DATA_SST2_H_
#define MT_ENGINE_DATA_SST2_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mt::data {

inline constexpr int64_t kNoLabel = -1;  // the GLUE test split publishes no labels

struct SentenceExample {
  std::string sentence;  // as in the file, minus the trailing space GLUE leaves before the TAB
  int64_t label = kNoLabel;  // 0 = negative, 1 = positive, kNoLabel for the test split
};

// Loads a labelled split (train.tsv, dev.tsv): header "sentence\tlabel", then one
// "<sentence>\t<0|1>" per line. Lines keep their file order.
absl::StatusOr<std::vector<SentenceExample>> LoadSst2Labeled(const std::string& path);

// Loads the unlabelled test split (test.tsv): header "index\tsentence", then
// "<index>\t<sentence>" per line. Labels are kNoLabel; example i is the line with index i.
absl::StatusOr<std::vector<SentenceExample>> LoadSst2Unlabeled(const std::string& path);

enum class Sst2Split { kTrain, kDev, kTest };

// Loads train.tsv, dev.tsv or test.tsv from `dir`: the sst2/ folder or the data root above it.
absl::StatusOr<std::vector<SentenceExample>> LoadSst2(const std::string& dir, Sst2Split split);

// Lower-cases ASCII letters and splits on ASCII whitespace; runs of whitespace never make empty
// tokens. Bytes >= 0x80 (UTF-8) pass through unchanged. SST-2 is already lower-cased and
// PTB-tokenised, so this reproduces its tokens exactly.
std::vector<std::string> Tokenize(absl::string_view sentence);

// Maps tokens to dense ids. Id 0 is "<pad>" and id 1 is "<unk>"; the rest follow by descending
// count, ties broken alphabetically, so the same data always gives the same ids.
class Vocab {
 public:
  static constexpr int64_t kPadId = 0;
  static constexpr int64_t kUnkId = 1;
  static constexpr const char* kPadToken = "<pad>";
  static constexpr const char* kUnkToken = "<unk>";

  // Only "<pad>" and "<unk>".
  Vocab();

  // Counts the tokens of `examples` (build from the training split only, so dev accuracy is
  // honest) and keeps those seen at least `min_count` times. min_count <= 1 keeps all.
  static Vocab Build(const std::vector<SentenceExample>& examples, int64_t min_count);

  // Rebuilds a vocabulary saved as tokens(), e.g. next to a checkpoint. InvalidArgument unless
  // tokens[0] is "<pad>", tokens[1] is "<unk>", and no token repeats or is empty.
  static absl::StatusOr<Vocab> FromTokens(std::vector<std::string> tokens);

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  // The id of an already-tokenised word, kUnkId if it is not in the vocabulary.
  int64_t Id(absl::string_view token) const;
  bool Contains(absl::string_view token) const;
  // id in [0, size()).
  const std::string& Token(int64_t id) const { return tokens_[static_cast<size_t>(id)]; }
  const std::vector<std::string>& tokens() const { return tokens_; }

  // Tokenize(sentence) mapped through Id().
  std::vector<int64_t> Encode(absl::string_view sentence) const;

 private:
  void Add(std::string token);

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
};

struct EncodedExample {
  std::vector<int64_t> ids;  // token ids, unpadded
  int64_t label = kNoLabel;
};

// Encodes every example once, so that batching is only copying.
std::vector<EncodedExample> EncodeExamples(const Vocab& vocab,
                                           const std::vector<SentenceExample>& examples);

struct TokenBatch {
  int64_t batch_size = 0;
  int64_t max_len = 0;           // max(min_len, longest sentence in this batch)
  std::vector<int64_t> ids;      // (batch_size, max_len) row-major, padded with Vocab::kPadId
  std::vector<int64_t> lengths;  // (batch_size) tokens before padding
  std::vector<int64_t> labels;   // (batch_size)
};

// Gathers examples[indices[0..n)] into one batch padded to the longest of them rather than the
// longest in the dataset: SST-2 train phrases average 9 tokens against a maximum of 52, so
// per-batch padding saves most of the convolution work. `min_len` pads further, e.g. to the
// widest filter of a CNN (a width-5 filter needs 5 positions), and lets an empty sentence
// still produce a row. Aborts on an out-of-range index (a sampler bug, not bad data).
TokenBatch MakeTokenBatch(const std::vector<EncodedExample>& examples, const int64_t* indices,
                          int64_t n, int64_t min_len = 1);

}  // namespace mt::data

#endif  // MT_ENGINE_DATA_SST2_H_
