// The rules of a job's lifecycle, as pure functions of its row: which transitions are allowed
// and what their events say. QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED | INTERRUPTED;
// INTERRUPTED / CANCELLED → QUEUED again by ResumeJob.
#ifndef MT_SERVER_LIFECYCLE_H_
#define MT_SERVER_LIFECYCLE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "proto/training.pb.h"
#include "server/runner.h"

namespace mt::server {

// A new job's row: QUEUED on the spec's device, created now, one event (seq 1).
v1::Job NewJob(const std::string& id, const v1::JobSpec& resolved_spec, int64_t now_ms);
std::string SubmittedMessage(const v1::Job& job);

// OK when the job may be resumed (INTERRUPTED or CANCELLED); FailedPrecondition saying why not.
absl::Status CheckResumable(const v1::Job& job);
// The QUEUED event of a resume that continues after `epoch` (0: from the beginning).
std::string ResumedMessage(const v1::Job& job, int64_t epoch);

// The RUNNING event: where, with how many threads, and from which epoch.
std::string RunningMessage(const std::string& device, int threads, int64_t resume_epoch);

std::string CancelledWhileQueuedMessage(int64_t resume_epoch);

// The row and event message of a run that has ended. A stopped run is CANCELLED when the user
// asked or the daemon is not shutting down, else INTERRUPTED (resumable after a restart).
// `epoch_in_progress`: the epoch its last batch progress was in (0: none).
v1::Job EndedJob(v1::Job job, const RunOutcome& outcome, bool user_cancelled,
                 bool shutting_down, int64_t epoch_in_progress, std::string* message);

}  // namespace mt::server

#endif  // MT_SERVER_LIFECYCLE_H_
