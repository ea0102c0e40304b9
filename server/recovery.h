// Crash recovery at start-up, over the job log just loaded:
//   - jobs found RUNNING (the daemon died, e.g. kill -9) become INTERRUPTED with an event saying
//     so, after recording the epoch whose checkpoint was written but whose event was not;
//   - jobs found QUEUED are queued again in their original order, or FAILED when their device
//     is gone;
//   - every job learns which epoch a resume would continue after.
#ifndef MT_SERVER_RECOVERY_H_
#define MT_SERVER_RECOVERY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/training.pb.h"
#include "server/job_log.h"
#include "server/store.h"

namespace mt::server {

// What a job's latest checkpoint says: the epoch it was written after (0: none) and that
// epoch's metrics when it carries them.
struct CheckpointInfo {
  int64_t epoch = 0;
  std::optional<v1::EpochMetrics> metrics;
};
using CheckpointLookup = std::function<CheckpointInfo(const std::string& job_id)>;

struct Recovery {
  std::vector<std::string> queued;              // to queue again, in this order
  std::map<std::string, int64_t> resume_epoch;  // the latest checkpoint's epoch, per job
};

// `rows`: what log.Load() returned. `has_device`: whether this machine has a device.
// Errors: the log refused a write (the database is read-only or full).
absl::StatusOr<Recovery> RecoverJobs(JobLog& log, const std::vector<StoredJob>& rows,
                                     const CheckpointLookup& checkpoint,
                                     const std::function<bool(const std::string&)>& has_device,
                                     const std::vector<std::string>& device_names);

// "last checkpoint: epoch 3" / "no checkpoint: no epoch had finished".
std::string CheckpointPhrase(int64_t epoch);

}  // namespace mt::server

#endif  // MT_SERVER_RECOVERY_H_
