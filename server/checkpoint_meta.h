// The one place the daemon reads (and names) a checkpoint's `mt.*` metadata keys: the epoch it
// was written after, that epoch's metrics, the vocabulary of text models, and which keys
// describe the model for an export. (To be switched to engine/train/checkpoint.h.)
#ifndef MT_SERVER_CHECKPOINT_META_H_
#define MT_SERVER_CHECKPOINT_META_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/data/sst2.h"
#include "engine/train/trainer.h"

namespace mt::server {

using Metadata = std::map<std::string, std::string>;

// The epoch a checkpoint was written after ("mt.epoch"); 0 when there is no file, or it is
// unreadable (the resumed run will then report that properly).
int64_t CheckpointEpoch(const std::string& path);
int64_t EpochOf(const Metadata& metadata);

// The metrics of the epoch the checkpoint was written after ("mt.epoch_metrics"), when present
// and readable.
std::optional<train::EpochMetrics> CheckpointEpochMetrics(const std::string& path);

// The vocabulary a text model was trained with ("mt.vocab": one token a line). DataLoss naming
// `path` when it is missing or damaged.
absl::StatusOr<std::shared_ptr<data::Vocab>> VocabFromMetadata(const Metadata& metadata,
                                                               const std::string& path);
// The metadata that stores `vocab` in a checkpoint, for the trainer to add.
Metadata VocabMetadata(const data::Vocab& vocab);

// The keys of `metadata` that describe the model (task, model, config, epoch, vocabulary), as
// an export keeps them; optimiser steps and RNG states only matter for resuming.
Metadata ModelMetadata(const Metadata& metadata);

}  // namespace mt::server

#endif  // MT_SERVER_CHECKPOINT_META_H_
