// Loaded datasets shared by the jobs (and inference calls) that use the same data: full MNIST
// takes about a second to load. Entries live while someone uses them; the most recent one is
// kept warm for the next job.
#ifndef MT_SERVER_DATA_CACHE_H_
#define MT_SERVER_DATA_CACHE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "engine/train/config.h"
#include "engine/train/datasets.h"

namespace mt::server {

class DataCache {
 public:
  // The task's data as `config` describes it (task, data_dir, sizes, vocabulary settings).
  // Thread-safe; two callers wanting the same data load it once.
  absl::StatusOr<std::shared_ptr<const train::TaskData>> Get(const train::TrainConfig& config);

 private:
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<const train::TaskData>> cache_;
  std::shared_ptr<const train::TaskData> last_;
};

}  // namespace mt::server

#endif  // MT_SERVER_DATA_CACHE_H_
