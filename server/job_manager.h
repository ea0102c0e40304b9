// The daemon's core, independent of gRPC (unit-testable without a network), in the spirit of
// TensorFlow Serving's core/ vs model_servers/. JobManager is a thin facade over parts that own
// their state and are tested on their own:
//   state_dir_lock.h  one daemon per state directory
//   devices.h         what the machine offers (the CPU today)
//   job_log.h         SQLite events + job rows, the in-memory job table, watch (store.h below)
//   recovery.h        what start-up does with jobs a dead daemon left behind
//   scheduler.h       a FIFO queue per device, max_running_per_device, waiting reasons
//   runner.h          runs a job (a thread per job today), cancellation, progress and epochs
//   inference.h       activations, predictions and exports from checkpoints
//   checkpoint_choice.h  which checkpoint answers (--epoch N|best)
//   job_removal.h     which jobs may be deleted, and their folders
//   progress_rate.h   a running job's speed and ETA
//   lifecycle.h       which transitions a job may make and what their events say
//   options.h         the daemon's settings
// The gRPC service in service.cc is thin glue that converts absl::Status to grpc::Status and
// streams what this returns.
//
// Proto messages (mt::v1::Job, JobEvent, ...) are used here as plain data types; nothing here
// touches the network.
//
// Lifecycle: QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED | INTERRUPTED.
//   - Every state change and every finished epoch is an event with a per-job sequence number
//     (1, 2, 3, ... without gaps), written to SQLite before it is visible to watchers.
//   - An epoch's event is written only after its checkpoint is durable on disk.
//   - On start-up, jobs found RUNNING (the daemon died, e.g. kill -9) become INTERRUPTED with an
//     event saying so; jobs found QUEUED are queued again.
//   - Shutdown(): stops accepting work, asks running jobs to stop between batches, marks them
//     INTERRUPTED (their last finished epoch's checkpoint is kept), wakes every watcher.
//   - ResumeJob on an INTERRUPTED or CANCELLED job queues it again; it continues from the latest
//     checkpoint at the next epoch (or from scratch if no epoch had finished).
#ifndef MT_SERVER_JOB_MANAGER_H_
#define MT_SERVER_JOB_MANAGER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/training.pb.h"
#include "server/caller.h"
#include "server/inference_types.h"  // ModelInput, ActivationsResult
#include "server/job_log.h"          // WatchBatch
#include "server/options.h"

namespace mt::server {

class JobManager {
 public:
  // Opens (or creates) the state directory and database, recovers jobs as described above and
  // starts the scheduler. Errors: the state directory cannot be created / the database is
  // unreadable.
  static absl::StatusOr<std::unique_ptr<JobManager>> Create(const Options& options);
  virtual ~JobManager() = default;

  // Validates the spec (InvalidArgument naming the field, the value and what is allowed; an
  // unknown or absent device is InvalidArgument too), fills defaults, persists, queues.
  virtual absl::StatusOr<v1::Job> Submit(const v1::JobSpec& spec) = 0;
  // Submit on behalf of `caller`: the job's owner is caller.user. ResourceExhausted (saying the
  // limit and how many are queued) when the user already has options.max_queued_per_user jobs
  // QUEUED. Submit(spec) is SubmitAs(spec, Caller::Local()).
  virtual absl::StatusOr<v1::Job> SubmitAs(const v1::JobSpec& spec, const Caller& caller) = 0;
  virtual absl::StatusOr<v1::Job> Get(const std::string& job_id) const = 0;  // NotFound
  // state == JOB_STATE_UNSPECIFIED lists every job; newest first.
  virtual std::vector<v1::Job> List(v1::JobState state) const = 0;
  // List restricted to the jobs `caller` may see (auth.h's CheckJobAccess: theirs, or all for an
  // admin).
  virtual std::vector<v1::Job> ListVisibleTo(v1::JobState state, const Caller& caller) const = 0;
  // Idempotent: cancelling a finished job returns it unchanged. QUEUED → CANCELLED at once;
  // RUNNING → stops between batches (the call returns once the job has left RUNNING, or with
  // DeadlineExceeded at `deadline` while it is still stopping: the cancellation stands).
  absl::StatusOr<v1::Job> Cancel(const std::string& job_id) {
    return Cancel(job_id, std::chrono::steady_clock::time_point::max());
  }
  virtual absl::StatusOr<v1::Job> Cancel(const std::string& job_id,
                                         std::chrono::steady_clock::time_point deadline) = 0;
  // INTERRUPTED / CANCELLED → QUEUED; other states: FailedPrecondition saying why.
  // ResourceExhausted when the job's owner already has max_queued_per_user jobs QUEUED.
  virtual absl::StatusOr<v1::Job> Resume(const std::string& job_id) = 0;

  // Waits up to `timeout` for events with seq >= from_seq (or a progress newer than
  // progress_version, when follow) and returns them; wakes as soon as one is recorded. NotFound for an unknown job;
  // InvalidArgument for from_seq < 1 or beyond last_seq + 1. When !follow, never waits and
  // finished is true after the replay.
  virtual absl::StatusOr<WatchBatch> Watch(const std::string& job_id, int64_t from_seq,
                                           bool follow, int64_t progress_version,
                                           std::chrono::milliseconds timeout) = 0;

  // From the job's latest checkpoint (FailedPrecondition when no epoch has finished yet), or
  // the one `which` names (checkpoint_choice.h says the errors).
  absl::StatusOr<ActivationsResult> Activations(const std::string& job_id,
                                                const ModelInput& input) {
    return Activations(job_id, input, CheckpointChoice());
  }
  virtual absl::StatusOr<ActivationsResult> Activations(const std::string& job_id,
                                                        const ModelInput& input,
                                                        const CheckpointChoice& which) = 0;
  absl::StatusOr<v1::PredictResponse> Predict(const std::string& job_id, const ModelInput& input) {
    return Predict(job_id, input, CheckpointChoice());
  }
  virtual absl::StatusOr<v1::PredictResponse> Predict(const std::string& job_id,
                                                      const ModelInput& input,
                                                      const CheckpointChoice& which) = 0;
  // The latest (or chosen) checkpoint's weights (no optimiser state) as safetensors bytes.
  absl::StatusOr<std::string> Export(const std::string& job_id) {
    return Export(job_id, CheckpointChoice());
  }
  virtual absl::StatusOr<std::string> Export(const std::string& job_id,
                                             const CheckpointChoice& which) = 0;

  // Removes a finished job: its events and row from the database, then its folder (checkpoints)
  // from the state directory; returns the bytes the folder held. FailedPrecondition for a
  // QUEUED or RUNNING job (saying to cancel it first); NotFound for an unknown one. The id is
  // never given out again.
  virtual absl::StatusOr<int64_t> Delete(const std::string& job_id) = 0;
  // Deletes every finished job `caller` may see that was created before `created_before_ms`
  // (0: every finished job), or with `dry_run` only says which. Stops at the first failure.
  struct PruneResult {
    std::vector<std::string> job_ids;
    int64_t bytes_freed = 0;
  };
  virtual absl::StatusOr<PruneResult> Prune(int64_t created_before_ms, const Caller& caller,
                                            bool dry_run) = 0;

  virtual std::vector<v1::Device> Devices() const = 0;

  // Graceful stop (idempotent); see the file comment. Blocks until running jobs have stopped.
  virtual void Shutdown() = 0;
};

}  // namespace mt::server

#endif  // MT_SERVER_JOB_MANAGER_H_
