// What the daemon reads from a job's checkpoint files: the epoch a checkpoint was written after,
// that epoch's metrics, and the vocabulary of text models. The keys themselves (mt.*) belong to
// engine/train/checkpoint.h; this file only adds reading them from a path, leniently, as
// recovery and the runner need.
#ifndef MT_SERVER_CHECKPOINT_META_H_
#define MT_SERVER_CHECKPOINT_META_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/data/sst2.h"
#include "engine/train/metrics.h"

namespace mt::server {

using Metadata = std::map<std::string, std::string>;

// The epoch a checkpoint was written after; 0 when there is no file, or it is unreadable (the
// resumed run will then report that properly).
int64_t CheckpointEpoch(const std::string& path);
int64_t EpochOf(const Metadata& metadata);

// The metrics of the epoch the checkpoint was written after, when present and readable.
std::optional<train::EpochMetrics> CheckpointEpochMetrics(const std::string& path);

// The vocabulary a text model was trained with. DataLoss naming `path` when it is missing or
// damaged.
absl::StatusOr<std::shared_ptr<data::Vocab>> VocabFromMetadata(const Metadata& metadata,
                                                               const std::string& path);
// The metadata that stores `vocab` in a checkpoint, for the trainer to add.
Metadata VocabMetadata(const data::Vocab& vocab);

}  // namespace mt::server

#endif  // MT_SERVER_CHECKPOINT_META_H_
