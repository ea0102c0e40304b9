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
#include "server/scheduler.h"
#include "server/store.h"

namespace mt::server {

// What a job's latest checkpoint says: the epoch it was written after (0: none) and that
// epoch's metrics when it carries them.
struct CheckpointInfo {
  int64_t epoch = 0;
  std::optional<v1::EpochMetrics> metrics;
};
using CheckpointLookup = std::function<CheckpointInfo(const std::string& job_id)>;

// `rows`: what log.Load() returned. Queued jobs go to `scheduler` (which nobody else uses yet).
// Returns the epoch a resume would continue after (the latest checkpoint's), per job.
// Errors: the log refused a write (e.g. the database is read-only). A full disk is not an
// error, so that the daemon starts and serves reads: a job that was RUNNING shows INTERRUPTED
// with a notice that this is not recorded yet (JobLog::Append, force), and the database keeps
// it RUNNING until a start with free space records it.
absl::StatusOr<std::map<std::string, int64_t>> RecoverJobs(JobLog& log,
                                                           const std::vector<StoredJob>& rows,
                                                           const CheckpointLookup& checkpoint,
                                                           Scheduler& scheduler);

// "last checkpoint: epoch 3" / "no checkpoint: no epoch had finished".
std::string CheckpointPhrase(int64_t epoch);

}  // namespace mt::server

#endif  // MT_SERVER_RECOVERY_H_
