#include "engine/data/glove.h"

#include <cmath>
#include <memory>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "engine/data/input_file.h"

namespace mt::data {

namespace {

absl::Status LineError(const std::string& path, int64_t line_number, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": ", what));
}

std::string Quote(absl::string_view text) {
  constexpr size_t kMax = 40;
  std::string out = absl::StrCat("'", absl::CEscape(text.substr(0, kMax)), "'");
  if (text.size() > kMax) absl::StrAppend(&out, "...");
  return out;
}

std::vector<absl::string_view> SplitFields(absl::string_view line) {
  return absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

// A uniform float in [-range, range) from the raw 64-bit output. std::uniform_real_distribution
// is implementation-defined, which would make the same seed give different tables on different
// standard libraries; mt19937_64's raw sequence is fixed by the standard.
float UniformSymmetric(std::mt19937_64& rng, float range) {
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
  return static_cast<float>((2.0 * u - 1.0) * range);
}

}  // namespace

absl::StatusOr<PretrainedEmbeddings> LoadGlove(const std::string& path, const Vocab& vocab,
                                               const GloveOptions& options) {
  absl::StatusOr<std::unique_ptr<InputFile>> file = InputFile::Open(path);
  if (!file.ok()) return file.status();

  PretrainedEmbeddings result;
  result.vocab_size = vocab.size();
  std::vector<bool> filled(static_cast<size_t>(vocab.size()), false);
  int64_t dim = 0;
  std::string dim_source;  // where the dimension came from, for error messages
  int64_t line_number = 0;
  int64_t vectors = 0;
  std::string line;
  while (true) {
    absl::StatusOr<bool> more = (*file)->ReadLine(&line);
    if (!more.ok()) return more.status();
    if (!*more) break;
    ++line_number;
    const std::vector<absl::string_view> fields = SplitFields(line);
    if (fields.empty()) continue;  // blank lines carry nothing
    const int64_t num_values = static_cast<int64_t>(fields.size()) - 1;
    // Words are quoted only once the file has shown itself to be a vector file (some line's
    // values parsed as numbers). Until then it may be any file the reader can open (the daemon
    // reads paths clients send), and its content must not be echoed back in an error.
    auto word = [&] {
      return result.found > 0 ? absl::StrCat("word ", Quote(fields[0]))
                              : std::string("the line's first field");
    };
    if (dim == 0) {
      int64_t header_count = 0, header_dim = 0;
      const bool is_header = line_number == 1 && fields.size() == 2 &&
                             absl::SimpleAtoi(fields[0], &header_count) &&
                             absl::SimpleAtoi(fields[1], &header_dim) && header_dim > 0;
      if (!is_header && num_values == 0) {
        return LineError(path, line_number,
                         absl::StrCat(word(), " has no values, expected 'word v1 ... vd'"));
      }
      dim = is_header ? header_dim : num_values;
      dim_source = is_header ? "as the header on line 1 declares"
                             : absl::StrCat("as on line ", line_number);
      if (options.expected_dim > 0 && dim != options.expected_dim) {
        return LineError(path, line_number,
                         absl::StrCat("vectors have ", dim, " values, but the model's embedding "
                                      "dimension is ", options.expected_dim));
      }
      result.dim = dim;
      result.weights.assign(static_cast<size_t>(vocab.size() * dim), 0.0f);
      if (is_header) continue;
    }
    if (num_values != dim) {
      return LineError(path, line_number,
                       absl::StrCat(word(), " has ", num_values,
                                    " values, expected ", dim, " ", dim_source));
    }
    ++vectors;
    if (!vocab.Contains(fields[0])) continue;
    const int64_t id = vocab.Id(fields[0]);
    if (id == Vocab::kPadId || filled[id]) continue;
    float* row = result.weights.data() + id * dim;
    for (int64_t j = 0; j < dim; ++j) {
      float value = 0.0f;
      if (!absl::SimpleAtof(fields[j + 1], &value) || !std::isfinite(value)) {
        return LineError(path, line_number,
                         result.found > 0
                             ? absl::StrCat("value ", j + 1, " of word ", Quote(fields[0]),
                                            " is ", Quote(fields[j + 1]),
                                            ", expected a finite number")
                             : absl::StrCat("value ", j + 1,
                                            " is not a finite number; expected lines of 'word "
                                            "v1 ... vd'"));
      }
      row[j] = value;
    }
    filled[id] = true;
    ++result.found;
  }
  if (vectors == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": empty file: no word vectors, expected lines of 'word v1 ... vd'"));
  }

  // Drawn in id order after the whole file is read, so the values depend on the seed and the
  // vocabulary only, not on where words sit in the file.
  std::mt19937_64 rng(options.seed);
  for (int64_t id = 0; id < vocab.size(); ++id) {
    if (id == Vocab::kPadId || filled[id]) continue;
    float* row = result.weights.data() + id * result.dim;
    for (int64_t j = 0; j < result.dim; ++j) row[j] = UniformSymmetric(rng, options.init_range);
    ++result.missing;
  }
  return result;
}

}  // namespace mt::data
