#include "server/checkpoint_meta.h"

#include <filesystem>

#include "engine/io/safetensors.h"
#include "engine/train/checkpoint.h"

namespace mt::server {
namespace {

absl::StatusOr<Metadata> ReadMetadata(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::NotFoundError(path);
  return io::ReadSafetensorsMetadata(path);
}

}  // namespace

int64_t EpochOf(const Metadata& metadata) { return train::SummarizeCheckpoint(metadata).epoch; }

int64_t CheckpointEpoch(const std::string& path) {
  absl::StatusOr<Metadata> meta = ReadMetadata(path);
  return meta.ok() ? EpochOf(*meta) : 0;
}

std::optional<train::EpochMetrics> CheckpointEpochMetrics(const std::string& path) {
  absl::StatusOr<Metadata> meta = ReadMetadata(path);
  if (!meta.ok()) return std::nullopt;
  return train::SummarizeCheckpoint(*meta).epoch_metrics;
}

absl::StatusOr<std::shared_ptr<data::Vocab>> VocabFromMetadata(const Metadata& metadata,
                                                               const std::string& path) {
  return train::CheckpointVocab(metadata, path);
}

Metadata VocabMetadata(const data::Vocab& vocab) {
  return {{train::kVocabKey, train::JoinVocab(vocab)}};
}

}  // namespace mt::server
