#include "server/data_cache.h"

#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mt::server {

absl::StatusOr<std::shared_ptr<const train::TaskData>> DataCache::Get(
    const train::TrainConfig& c) {
  std::string key = absl::StrCat(c.task, "|", c.data_dir, "|", c.train_size, "|", c.valid_size);
  if (c.task == "sst2") {
    absl::StrAppend(&key, "|", c.min_count, "|", c.embeddings_path, "|", c.embedding_dim);
    // Words missing from the embeddings file get seeded random vectors.
    if (!c.embeddings_path.empty()) absl::StrAppend(&key, "|", c.seed);
  }
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
