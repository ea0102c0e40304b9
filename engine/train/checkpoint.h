// The checkpoint format: a safetensors file holding the model's parameters by dotted name, the
// optimiser's state as "optim.<index>.<buffer>", and metadata under "mt.*" keys. This file owns
// every one of those keys: the trainer writes checkpoints and the daemon reads them through the
// functions here, so the two cannot drift apart.
//
// Metadata keys (values are text):
//   format                 "pt" (safetensors' convention for PyTorch-loadable files)
//   mt.task, mt.model      e.g. "mnist", "lenet5"
//   mt.config              the run's TrainConfig as JSON (ToJson)
//   mt.epoch               epochs completed
//   mt.optimizer_steps     optimiser steps taken
//   mt.lr                  the learning rate the next epoch uses (the shortest text that reads
//                          back as the same double; older checkpoints hold 6 significant
//                          digits and still load)
//   mt.rng.shuffle         the shuffling generator's state
//   mt.rng.dropout         the model's dropout generator's state
//   mt.best_valid_accuracy (exact, like mt.lr), mt.best_epoch
//   mt.epoch_metrics       the newest epoch's EpochMetrics as JSON (absent before the first)
//   mt.vocab               tasks with a vocabulary: its tokens, one per line, newline-terminated
#ifndef MT_ENGINE_TRAIN_CHECKPOINT_H_
#define MT_ENGINE_TRAIN_CHECKPOINT_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/data/sst2.h"
#include "engine/io/safetensors.h"
#include "engine/models/models.h"
#include "engine/optim.h"
#include "engine/train/metrics.h"

namespace mt::train {

inline constexpr char kOptimizerTensorPrefix[] = "optim.";
inline constexpr char kVocabKey[] = "mt.vocab";

struct CheckpointMeta {
  std::string task, model;
  std::string config_json;      // mt.config
  int64_t epoch = 0;            // mt.epoch
  int64_t optimizer_steps = 0;  // mt.optimizer_steps
  double lr = 0;                // mt.lr
  std::string shuffle_rng;      // mt.rng.shuffle
  std::string dropout_rng;      // mt.rng.dropout
  double best_valid_accuracy = 0;
  int64_t best_epoch = 0;
  std::optional<EpochMetrics> epoch_metrics;       // mt.epoch_metrics
  std::optional<std::vector<std::string>> vocab;   // mt.vocab
  // Keys this file does not own, kept as they are (written first; owned keys win).
  std::map<std::string, std::string> extra;
};

// The metadata map of a checkpoint (every key above, plus meta.extra).
std::map<std::string, std::string> CheckpointMetadata(const CheckpointMeta& meta);

// Parses a training checkpoint's metadata (everything needed to resume). DataLoss naming the
// key when a number is missing or malformed; `source` (e.g. the file's path), when not empty,
// prefixes the message about mt.lr / mt.best_valid_accuracy. Unowned keys land in `extra`.
absl::StatusOr<CheckpointMeta> ReadCheckpointMeta(const io::TensorFile& file,
                                                  const std::string& source = "");

// What describes a checkpoint's model, read leniently (also from exported models, which lack
// the resume state): empty strings / 0 for what is missing or unreadable.
struct CheckpointSummary {
  std::string task, model;
  int64_t epoch = 0;
  std::optional<EpochMetrics> epoch_metrics;  // unset when missing or unreadable
};
CheckpointSummary SummarizeCheckpoint(const std::map<std::string, std::string>& metadata);

// The checkpoint of a model and its optimiser: parameters by name, optimiser state tensors
// under kOptimizerTensorPrefix, and `meta` as metadata.
io::TensorFile MakeCheckpoint(const models::Model& model, const optim::Optimizer& optimizer,
                              const CheckpointMeta& meta);

// Restores an optimiser from a checkpoint's optim.* tensors and its step count.
absl::Status LoadOptimizerState(const io::TensorFile& file, int64_t steps,
                                optim::Optimizer* optimizer);

// Loads a checkpoint's weights (by dotted name) into a model; extra or missing names are errors.
absl::Status LoadWeights(const io::TensorFile& file, models::Model* model);

// The vocabulary saved in a checkpoint (mt.vocab). DataLoss naming `path` when it is missing or
// damaged.
absl::StatusOr<std::shared_ptr<data::Vocab>> CheckpointVocab(const io::TensorFile& file,
                                                             const std::string& path);
absl::StatusOr<std::shared_ptr<data::Vocab>> CheckpointVocab(
    const std::map<std::string, std::string>& metadata, const std::string& path);

// One vocabulary as mt.vocab stores it: each token followed by a newline.
std::string JoinVocab(const data::Vocab& vocab);

// What a model export keeps of a checkpoint: the parameters (no optim.* tensors) and the keys
// that describe the model (format, mt.task, mt.model, mt.config, mt.epoch, mt.vocab); the
// optimiser steps and RNG states only matter for resuming.
io::TensorFile ExportedModel(const io::TensorFile& checkpoint);

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_CHECKPOINT_H_
