#include "server/recovery.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mt::server {

std::string CheckpointPhrase(int64_t epoch) {
  return epoch > 0 ? absl::StrCat("last checkpoint: epoch ", epoch)
                   : "no checkpoint: no epoch had finished";
}

absl::StatusOr<std::map<std::string, int64_t>> RecoverJobs(JobLog& log,
                                                           const std::vector<StoredJob>& rows,
                                                           const CheckpointLookup& checkpoint,
                                                           Scheduler& scheduler) {
  std::map<std::string, int64_t> resume_epoch;
  std::vector<std::pair<int64_t, std::string>> queued;
  for (const StoredJob& row : rows) {
    const std::string& id = row.job.id();
    const v1::JobState state = row.job.state();
    if (state == v1::RUNNING) {
      // The daemon died (kill -9, power loss) while this job ran.
      const CheckpointInfo ck = checkpoint(id);
      v1::Job job = row.job;
      // Dying between an epoch's checkpoint rename and its event's commit leaves the
      // checkpoint one epoch ahead of the log. The checkpoint carries that epoch's metrics, so
      // the event is recorded now instead of lost.
      if (ck.epoch == job.epochs_done() + 1 && ck.metrics && ck.metrics->epoch() == ck.epoch) {
        job = JobAfterEpoch(job, *ck.metrics);
        v1::JobEvent event;
        *event.mutable_epoch() = *ck.metrics;
        if (absl::Status s = log.Append(job, row.queue_order, event, false); !s.ok()) {
          // On a full disk the daemon still starts (it serves reads): the epoch stays in the
          // checkpoint and is recorded at a later start.
          if (!absl::IsResourceExhausted(s)) return s;
        }
        absl::StatusOr<StoredJob> now = log.Row(id);
        if (!now.ok()) return now.status();
        job = now->job;
      }
      resume_epoch[id] = ck.epoch;
      job.set_state(v1::INTERRUPTED);
      absl::Status s = log.Append(
          job, row.queue_order,
          StateEvent(v1::INTERRUPTED,
                     absl::StrCat("daemon stopped while running (", CheckpointPhrase(ck.epoch),
                                  "); `mt-client resume ", job.id(), "` continues from there"),
                     /*terminal=*/true),
          /*force=*/true);
      // On a full disk: INTERRUPTED in memory, RUNNING in the database, and this runs again at
      // the next start (JobLog::Append, force). Any other write error stops the start.
      if (!s.ok() && !absl::IsResourceExhausted(s)) return s;
    } else if (state == v1::QUEUED) {
      queued.emplace_back(row.queue_order, id);
    } else if (state == v1::INTERRUPTED || state == v1::CANCELLED) {
      resume_epoch[id] = checkpoint(id).epoch;
    }
  }
  std::sort(queued.begin(), queued.end());
  for (const auto& [order, id] : queued) {
    resume_epoch[id] = checkpoint(id).epoch;
    absl::StatusOr<StoredJob> row = log.Row(id);
    if (!row.ok()) return row.status();
    if (scheduler.HasDevice(row->job.device())) {
      scheduler.Enqueue(row->job.device(), id);
      continue;
    }
    // Queued for a device this machine (or build) no longer has.
    v1::Job job = row->job;
    job.set_state(v1::FAILED);
    job.set_error(absl::StrCat("device ", job.device(), " is not available (available: ",
                               absl::StrJoin(scheduler.device_names(), ", "), ")"));
    absl::Status s = log.Append(job, row->queue_order,
                                StateEvent(v1::FAILED, job.error(), /*terminal=*/true),
                                /*force=*/true);
    if (!s.ok() && !absl::IsResourceExhausted(s)) return s;
  }
  return resume_epoch;
}

}  // namespace mt::server
