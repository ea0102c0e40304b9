// Pretrained word vectors in GloVe's text format ("word v1 ... vd" per line, single spaces),
// plain or gzipped, gathered into an embedding table for a Vocab.
//
// Error codes: NotFound for a missing file; DataLoss for a damaged .gz; InvalidArgument for an
// empty file, a line whose number of values differs from the first line's, a value that is not a
// finite number, or a dimension other than the one asked for. Messages read "<path>:<line>: ...".
#ifndef MT_ENGINE_DATA_GLOVE_H_
#define MT_ENGINE_DATA_GLOVE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/data/sst2.h"

namespace mt::data {

struct GloveOptions {
  // The model's embedding size; the file must match it. 0 accepts whatever the file holds.
  int64_t expected_dim = 0;
  // Seed for the rows the file does not cover, so a run can be repeated exactly.
  uint64_t seed = 1;
  // Missing rows are drawn from U[-init_range, init_range]. 0.25 is Kim (2014)'s choice, which
  // gives them roughly the variance of the pretrained ones.
  float init_range = 0.25f;
};

struct PretrainedEmbeddings {
  int64_t vocab_size = 0;
  int64_t dim = 0;
  std::vector<float> weights;  // (vocab_size, dim) row-major, row i for vocab id i
  int64_t found = 0;    // ids whose row came from the file
  int64_t missing = 0;  // ids whose row is random; found + missing == vocab_size - 1
};

// Builds the (vocab.size(), dim) table: the file's vector for each vocab word it contains (exact,
// case-sensitive match; the first occurrence wins), random values for the others, and zeros for
// Vocab::kPadId so that padding adds nothing to a convolution. Every line's field count is
// checked; values are parsed only on lines whose word is in the vocabulary, which keeps loading
// the 400k-word GloVe 6B file fast. A first line of exactly two integers is taken as a
// word2vec/fastText "count dim" header and skipped.
absl::StatusOr<PretrainedEmbeddings> LoadGlove(const std::string& path, const Vocab& vocab,
                                               const GloveOptions& options = {});

}  // namespace mt::data

#endif  // MT_ENGINE_DATA_GLOVE_H_
