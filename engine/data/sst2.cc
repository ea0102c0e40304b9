#include "engine/data/sst2.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/data/input_file.h"

namespace mt::data {

namespace {

constexpr absl::string_view kLabeledHeader = "sentence\tlabel";
constexpr absl::string_view kUnlabeledHeader = "index\tsentence";
constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Quotes file content for an error message: escaped so a TAB shows as \t, and cut short so one
// bad line cannot flood the log.
std::string Quote(absl::string_view text) {
  constexpr size_t kMax = 60;
  std::string out = absl::StrCat("'", absl::CEscape(text.substr(0, kMax)), "'");
  if (text.size() > kMax) absl::StrAppend(&out, "...");
  return out;
}

absl::Status LineError(const std::string& path, size_t line_number, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": ", what));
}

bool IsLabel(absl::string_view field) { return field == "0" || field == "1"; }

// Splits the file into lines without their '\n' / "\r\n". A final newline makes no empty line.
std::vector<absl::string_view> SplitLines(absl::string_view contents) {
  std::vector<absl::string_view> lines = absl::StrSplit(contents, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (absl::string_view& line : lines) absl::ConsumeSuffix(&line, "\r");
  if (!lines.empty()) absl::ConsumePrefix(&lines[0], kUtf8Bom);
  return lines;
}

absl::Status CheckHeader(const std::string& path, absl::string_view header, bool labeled) {
  const absl::string_view want = labeled ? kLabeledHeader : kUnlabeledHeader;
  if (header == want) return absl::OkStatus();
  if (labeled && header == kUnlabeledHeader) {
    return LineError(path, 1,
                     "header 'index\\tsentence' marks the unlabelled GLUE test split; expected "
                     "'sentence\\tlabel' (load test.tsv with LoadSst2Unlabeled)");
  }
  if (!labeled && header == kLabeledHeader) {
    return LineError(path, 1,
                     "header 'sentence\\tlabel' marks a labelled split; expected "
                     "'index\\tsentence' (load train/dev with LoadSst2Labeled)");
  }
  const std::vector<absl::string_view> fields = absl::StrSplit(header, '\t');
  int64_t index = 0;
  const bool looks_like_data =
      fields.size() == 2 &&
      (labeled ? IsLabel(fields[1]) : absl::SimpleAtoi(fields[0], &index));
  return LineError(path, 1,
                   absl::StrCat(looks_like_data ? "missing header line: expected "
                                                : "bad header line: expected ",
                                Quote(want), ", found ",
                                looks_like_data ? "a data row " : "", Quote(header)));
}

absl::StatusOr<std::vector<SentenceExample>> LoadTsv(const std::string& path, bool labeled) {
  absl::StatusOr<std::string> contents = ReadFileToString(path);
  if (!contents.ok()) return contents.status();
  const std::vector<absl::string_view> lines = SplitLines(*contents);
  if (lines.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": empty file, expected the header line ",
                     Quote(labeled ? kLabeledHeader : kUnlabeledHeader), " and data rows"));
  }
  absl::Status status = CheckHeader(path, lines[0], labeled);
  if (!status.ok()) return status;

  std::vector<SentenceExample> examples;
  examples.reserve(lines.size() - 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t line_number = i + 1;
    const std::vector<absl::string_view> fields = absl::StrSplit(lines[i], '\t');
    if (fields.size() != 2) {
      return LineError(
          path, line_number,
          absl::StrCat("expected 2 TAB-separated fields (",
                       labeled ? "sentence, label" : "index, sentence", "), found ",
                       fields.size(), " in ", Quote(lines[i])));
    }
    SentenceExample example;
    const absl::string_view sentence =
        absl::StripAsciiWhitespace(labeled ? fields[0] : fields[1]);
    if (sentence.empty()) {
      return LineError(path, line_number, absl::StrCat("empty sentence in ", Quote(lines[i])));
    }
    example.sentence = std::string(sentence);
    if (labeled) {
      if (!IsLabel(fields[1])) {
        return LineError(path, line_number,
                         absl::StrCat("label must be 0 or 1, found ", Quote(fields[1])));
      }
      example.label = fields[1] == "1" ? 1 : 0;
    } else {
      // Predictions are reported by position, so positions must be the indices.
      int64_t index = -1;
      const int64_t expected = static_cast<int64_t>(examples.size());
      if (!absl::SimpleAtoi(fields[0], &index) || index != expected) {
        return LineError(path, line_number,
                         absl::StrCat("index must be ", expected, " (rows numbered from 0 in "
                                      "order), found ",
                                      Quote(fields[0])));
      }
    }
    examples.push_back(std::move(example));
  }
  return examples;
}

}  // namespace

absl::StatusOr<std::vector<SentenceExample>> LoadSst2Labeled(const std::string& path) {
  return LoadTsv(path, /*labeled=*/true);
}

absl::StatusOr<std::vector<SentenceExample>> LoadSst2Unlabeled(const std::string& path) {
  return LoadTsv(path, /*labeled=*/false);
}

absl::StatusOr<std::vector<SentenceExample>> LoadSst2(const std::string& dir, Sst2Split split) {
  const char* name = split == Sst2Split::kTrain ? "train.tsv"
                     : split == Sst2Split::kDev ? "dev.tsv"
                                                : "test.tsv";
  if (!IsDirectory(dir)) {
    return absl::NotFoundError(
        absl::StrCat(dir, ": SST-2 directory does not exist (scripts/fetch_data.sh fetches it)"));
  }
  std::string path = absl::StrCat(dir, "/", name);
  // Accept the data root as well as the sst2/ folder inside it.
  if (!IsRegularFile(path) && IsRegularFile(absl::StrCat(dir, "/sst2/", name))) {
    path = absl::StrCat(dir, "/sst2/", name);
  }
  return split == Sst2Split::kTest ? LoadSst2Unlabeled(path) : LoadSst2Labeled(path);
}

std::vector<std::string> Tokenize(absl::string_view sentence) {
  std::vector<std::string> tokens =
      absl::StrSplit(sentence, absl::ByAnyChar(" \t\n\r\f\v"), absl::SkipEmpty());
  for (std::string& token : tokens) absl::AsciiStrToLower(&token);
  return tokens;
}

Vocab::Vocab() {
  Add(kPadToken);
  Add(kUnkToken);
}

void Vocab::Add(std::string token) {
  ids_.emplace(token, size());
  tokens_.push_back(std::move(token));
}

Vocab Vocab::Build(const std::vector<SentenceExample>& examples, int64_t min_count) {
  std::unordered_map<std::string, int64_t> counts;
  for (const SentenceExample& example : examples) {
    for (std::string& token : Tokenize(example.sentence)) ++counts[std::move(token)];
  }
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  Vocab vocab;
  for (auto& [token, count] : sorted) {
    // A literal "<pad>" or "<unk>" in the text already has its id.
    if (count < min_count || vocab.Contains(token)) continue;
    vocab.Add(std::move(token));
  }
  return vocab;
}

absl::StatusOr<Vocab> Vocab::FromTokens(std::vector<std::string> tokens) {
  if (tokens.size() < 2 || tokens[kPadId] != kPadToken || tokens[kUnkId] != kUnkToken) {
    return absl::InvalidArgumentError(
        "vocabulary must start with \"<pad>\" (id 0) and \"<unk>\" (id 1)");
  }
  Vocab vocab;
  for (size_t i = 2; i < tokens.size(); ++i) {
    if (tokens[i].empty() || vocab.Contains(tokens[i])) {
      return absl::InvalidArgumentError(absl::StrCat("vocabulary token ", i, " ", Quote(tokens[i]),
                                                     tokens[i].empty() ? " is empty" : " repeats"));
    }
    vocab.Add(std::move(tokens[i]));
  }
  return vocab;
}

int64_t Vocab::Id(absl::string_view token) const {
  auto it = ids_.find(std::string(token));
  return it == ids_.end() ? kUnkId : it->second;
}

bool Vocab::Contains(absl::string_view token) const {
  return ids_.find(std::string(token)) != ids_.end();
}

std::vector<int64_t> Vocab::Encode(absl::string_view sentence) const {
  std::vector<int64_t> ids;
  for (const std::string& token : Tokenize(sentence)) ids.push_back(Id(token));
  return ids;
}

std::vector<EncodedExample> EncodeExamples(const Vocab& vocab,
                                           const std::vector<SentenceExample>& examples) {
  std::vector<EncodedExample> encoded(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    encoded[i].ids = vocab.Encode(examples[i].sentence);
    encoded[i].label = examples[i].label;
  }
  return encoded;
}

TokenBatch MakeTokenBatch(const std::vector<EncodedExample>& examples, const int64_t* indices,
                          int64_t n, int64_t min_len) {
  const int64_t count = static_cast<int64_t>(examples.size());
  TokenBatch batch;
  batch.batch_size = n;
  batch.max_len = std::max<int64_t>(min_len, 0);
  for (int64_t i = 0; i < n; ++i) {
    if (indices[i] < 0 || indices[i] >= count) {
      std::fprintf(stderr, "MakeTokenBatch: indices[%lld] = %lld is outside [0, %lld)\n",
                   static_cast<long long>(i), static_cast<long long>(indices[i]),
                   static_cast<long long>(count));
      std::abort();
    }
    batch.max_len =
        std::max<int64_t>(batch.max_len, static_cast<int64_t>(examples[indices[i]].ids.size()));
  }
  batch.ids.assign(static_cast<size_t>(n * batch.max_len), Vocab::kPadId);
  batch.lengths.resize(n);
  batch.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const EncodedExample& example = examples[indices[i]];
    std::copy(example.ids.begin(), example.ids.end(), batch.ids.begin() + i * batch.max_len);
    batch.lengths[i] = static_cast<int64_t>(example.ids.size());
    batch.labels[i] = example.label;
  }
  return batch;
}

}  // namespace mt::data
