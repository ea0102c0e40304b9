// Deleting finished jobs (mt-client delete / prune): which jobs may go, and removing a job's
// folder from the state directory. The database side is JobLog::Remove.
#ifndef MT_SERVER_JOB_REMOVAL_H_
#define MT_SERVER_JOB_REMOVAL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/training.pb.h"

namespace mt::server {

// OK for a finished job (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED); FailedPrecondition for a
// QUEUED or RUNNING one, saying to cancel it first.
absl::Status CheckDeletable(const v1::Job& job);

// The bytes of the regular files under `dir` (0 when it does not exist).
int64_t FolderBytes(const std::string& dir);

// Removes `dir` and everything in it; returns the bytes it held. A missing folder is fine (a
// job that failed before its first checkpoint has none). Errors name the folder and say the
// job itself is already gone.
absl::StatusOr<int64_t> RemoveJobFiles(const std::string& dir, const std::string& job_id);

}  // namespace mt::server

#endif  // MT_SERVER_JOB_REMOVAL_H_
