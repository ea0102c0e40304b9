#include "server/checkpoint_meta.h"

#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/io/safetensors.h"

namespace mt::server {
namespace {

constexpr char kEpochKey[] = "mt.epoch";
constexpr char kEpochMetricsKey[] = "mt.epoch_metrics";
constexpr char kVocabKey[] = "mt.vocab";

absl::StatusOr<Metadata> ReadMetadata(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::NotFoundError(path);
  return io::ReadSafetensorsMetadata(path);
}

}  // namespace

int64_t EpochOf(const Metadata& metadata) {
  auto it = metadata.find(kEpochKey);
  int64_t epoch = 0;
  if (it == metadata.end() || !absl::SimpleAtoi(it->second, &epoch)) return 0;
  return epoch;
}

int64_t CheckpointEpoch(const std::string& path) {
  absl::StatusOr<Metadata> meta = ReadMetadata(path);
  return meta.ok() ? EpochOf(*meta) : 0;
}

std::optional<train::EpochMetrics> CheckpointEpochMetrics(const std::string& path) {
  absl::StatusOr<Metadata> meta = ReadMetadata(path);
  if (!meta.ok() || !meta->count(kEpochMetricsKey)) return std::nullopt;
  absl::StatusOr<train::EpochMetrics> m = train::EpochMetricsFromJson(meta->at(kEpochMetricsKey));
  if (!m.ok()) return std::nullopt;
  return *m;
}

absl::StatusOr<std::shared_ptr<data::Vocab>> VocabFromMetadata(const Metadata& metadata,
                                                               const std::string& path) {
  auto it = metadata.find(kVocabKey);
  if (it == metadata.end()) {
    return absl::DataLossError(absl::StrCat(path, ": checkpoint lacks the vocabulary (",
                                            kVocabKey, " metadata)"));
  }
  std::vector<std::string> tokens = absl::StrSplit(it->second, '\n');
  if (!tokens.empty() && tokens.back().empty()) tokens.pop_back();  // newline-terminated
  absl::StatusOr<data::Vocab> vocab = data::Vocab::FromTokens(std::move(tokens));
  if (!vocab.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": vocabulary in metadata is damaged: ",
                                            vocab.status().message()));
  }
  return std::make_shared<data::Vocab>(std::move(*vocab));
}

Metadata VocabMetadata(const data::Vocab& vocab) {
  std::string joined;
  for (const std::string& t : vocab.tokens()) absl::StrAppend(&joined, t, "\n");
  return {{kVocabKey, std::move(joined)}};
}

Metadata ModelMetadata(const Metadata& metadata) {
  Metadata out;
  for (const char* key : {"format", "mt.task", "mt.model", "mt.config", kEpochKey, kVocabKey}) {
    auto it = metadata.find(key);
    if (it != metadata.end()) out[key] = it->second;
  }
  return out;
}

}  // namespace mt::server
