// Everything that defines a training run (TrainConfig, train_config.h). Shared by mt-train's
// flags and the daemon's JobSpec; Validate() is the single place that says which values are
// allowed, asking the task registry (engine/tasks) about tasks, models and task-only fields.
#ifndef MT_ENGINE_TRAIN_CONFIG_H_
#define MT_ENGINE_TRAIN_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "engine/train/train_config.h"

namespace mt::train {

// Defaults that suit a task/model pair (what mt-train and the daemon start from): the task's
// entry in the registry. An unknown task gets TrainConfig's own defaults (Validate rejects it).
TrainConfig DefaultConfig(const std::string& task, const std::string& model);

// InvalidArgument naming the field, the value and what is allowed.
absl::Status Validate(const TrainConfig& config);

// "the sst2 task": the tasks that take word vectors, for messages about their fields.
std::string WordVectorTasks();

std::string ToJson(const TrainConfig& config);

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_CONFIG_H_
