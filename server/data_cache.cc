#include "server/data_cache.h"

#include <iterator>
#include <utility>

#include "engine/tasks/registry.h"

namespace mt::server {

absl::StatusOr<std::shared_ptr<const train::TaskData>> DataCache::Get(
    const train::TrainConfig& c) {
  const tasks::Task* task = tasks::FindTask(c.task);
  if (task == nullptr) return tasks::GetTask(c.task).status();
  const std::string key = task->DataKey(c);
  // Held while loading, so that two jobs wanting the same data load it once.
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = cache_.find(key); it != cache_.end()) {
    if (std::shared_ptr<const train::TaskData> d = it->second.lock()) {
      last_ = d;
      return d;
    }
  }
  absl::StatusOr<train::TaskData> loaded = train::LoadTask(c);
  if (!loaded.ok()) return loaded.status();
  auto d = std::make_shared<const train::TaskData>(std::move(*loaded));
  for (auto it = cache_.begin(); it != cache_.end();) {
    it = it->second.expired() ? cache_.erase(it) : std::next(it);
  }
  cache_[key] = d;
  last_ = d;
  return std::shared_ptr<const train::TaskData>(d);
}

}  // namespace mt::server
