#include "engine/train/datasets.h"

#include "engine/tasks/registry.h"

namespace mt::train {

absl::StatusOr<TaskData> LoadTask(const TrainConfig& c) {
  if (absl::Status s = Validate(c); !s.ok()) return s;
  return tasks::FindTask(c.task)->Load(c);  // Validate found the task
}

absl::StatusOr<std::unique_ptr<models::Model>> BuildModel(const TrainConfig& c,
                                                          const TaskData& data) {
  if (absl::Status s = Validate(c); !s.ok()) return s;
  return tasks::FindTask(c.task)->BuildModel(c, data);
}

}  // namespace mt::train
