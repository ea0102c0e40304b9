// Loading a run's data and building its model, by way of the task registry (engine/tasks).
// The dataset types themselves are in dataset.h.
#ifndef MT_ENGINE_TRAIN_DATASETS_H_
#define MT_ENGINE_TRAIN_DATASETS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "engine/models/models.h"
#include "engine/train/config.h"
#include "engine/train/dataset.h"

namespace mt::train {

// Loads config.task's splits from config.data_dir, honouring train_size / valid_size.
absl::StatusOr<TaskData> LoadTask(const TrainConfig& config);

// A fresh model for the config (seeded by config.seed), its parameters flattened.
absl::StatusOr<std::unique_ptr<models::Model>> BuildModel(const TrainConfig& config,
                                                          const TaskData& data);

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_DATASETS_H_
