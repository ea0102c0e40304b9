// Runs jobs: given a job's config and its checkpoint folder, trains (resuming from the latest
// checkpoint when there is one), reports batch progress and finished epochs as they happen,
// and stops between batches when asked.
//
// JobRunner is the seam between the job manager and how a job runs. ThreadRunner runs each job
// on a thread of the daemon; a runner that starts a worker process per job (isolation, GPUs)
// implements the same interface, sending the same protos over a pipe. The callbacks therefore
// carry protos, not engine types.
#ifndef MT_SERVER_RUNNER_H_
#define MT_SERVER_RUNNER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "engine/train/config.h"
#include "engine/train/trainer.h"
#include "proto/training.pb.h"
#include "server/data_cache.h"
#include "server/recovery.h"  // CheckpointInfo

namespace mt::server {

struct RunOutcome;

// Lets a run take part in something larger (a multi-worker job's rank 0, distributed_runner.h)
// without the runner knowing what: called on the run's thread around Trainer::Run.
class RunExtension {
 public:
  virtual ~RunExtension() = default;
  // After the trainer is built and restored, before it runs. `requested`: the run's own cancel
  // flag; *run_cancel (initially `requested`) is what Trainer::Run polls. An error ends the run
  // with it.
  virtual absl::Status Prepare(train::Trainer& trainer, models::Model& model,
                               const std::atomic<bool>* requested,
                               const std::atomic<bool>** run_cancel) = 0;
  // After the run; may rewrite its outcome (e.g. a lost worker makes it interrupted).
  virtual void Finish(RunOutcome* outcome) = 0;
};

struct RunRequest {
  std::string job_id;
  train::TrainConfig config;   // data_dir set
  std::string checkpoint_dir;  // created if missing; holds latest.safetensors
  int workers = 1;             // data-parallel worker processes (distributed_runner.h)
  std::shared_ptr<RunExtension> extension;  // null: a plain run
  std::string device = "cpu";  // where the job trains: "cpu" or "cuda:N"
};

struct RunOutcome {
  absl::Status status;  // why the run failed
  // With a non-OK status: the run lost a worker (it died, hung or could not start); the job is
  // INTERRUPTED and resumable rather than FAILED.
  bool interrupted = false;
  bool cancelled = false;
  int64_t completed_epochs = 0;
  double best_valid_accuracy = 0;
  int64_t best_epoch = 0;
};

// What a run tells the manager. All are called from the run's own context (its thread); a
// callback may block briefly (e.g. on a database write).
struct RunCallbacks {
  std::function<void(const v1::BatchProgress&)> on_progress;
  // Called after the epoch's checkpoint is durable. A non-OK status stops the run (an epoch
  // nobody can see again is worse than a stopped job) and becomes its outcome.
  std::function<absl::Status(const v1::EpochMetrics&)> on_epoch;
  // History events that are neither progress nor epochs (today: each epoch's confusion
  // matrix, called just before that epoch's on_epoch). May be empty. A non-OK status stops the
  // run like on_epoch's.
  std::function<absl::Status(const v1::JobEvent&)> on_history;
  // Last, exactly once.
  std::function<void(const RunOutcome&)> on_finished;
};

// Callers may hold their own locks while calling Start/Cancel/CancelAll: a runner calls the
// callbacks only from the run's own context and never while holding a lock of its own.
class JobRunner {
 public:
  virtual ~JobRunner() = default;
  // Starts the run and returns at once; `cancelled`: it stops before its first batch. A job
  // has at most one run at a time.
  virtual void Start(RunRequest request, bool cancelled, RunCallbacks callbacks) = 0;
  // Asks the job's run to stop between batches (it then finishes with cancelled = true); no-op
  // when the job has no run.
  virtual void Cancel(const std::string& job_id) = 0;
  virtual void CancelAll() = 0;
  // Blocks until every started run has returned from on_finished, and releases them.
  virtual void WaitIdle() = 0;
};

// One thread per job, training in the daemon's process.
class ThreadRunner : public JobRunner {
 public:
  // `data`: loaded datasets shared between jobs; must outlive this.
  explicit ThreadRunner(DataCache* data) : data_(data) {}
  ~ThreadRunner() override { WaitIdle(); }

  void Start(RunRequest request, bool cancelled, RunCallbacks callbacks) override;
  void Cancel(const std::string& job_id) override;
  void CancelAll() override;
  void WaitIdle() override;

 private:
  // Polled by the trainer between batches.
  using CancelFlag = std::atomic<bool>;
  RunOutcome Train(const RunRequest& request, CancelFlag* cancel,
                   const RunCallbacks& callbacks);
  void JoinFinished(std::unique_lock<std::mutex>& lock);

  DataCache* data_;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::map<int64_t, std::thread> threads_;  // guarded by mu_
  std::map<std::string, std::shared_ptr<CancelFlag>> cancel_;  // by job, while it runs
  std::vector<int64_t> finished_;           // threads that have nothing left but to return
  int64_t next_ = 1;
  int live_ = 0;
};

// The checkpoint the trainer keeps current in `checkpoint_dir` (resumes start from it).
std::string LatestCheckpointPath(const std::string& checkpoint_dir);

// What a run left in its latest checkpoint (for recovery after a crash).
CheckpointInfo InspectCheckpoint(const std::string& path);

// The engine's per-epoch and per-batch reports as the service's protos.
v1::EpochMetrics EpochMetricsProto(const train::EpochMetrics& m);
v1::BatchProgress BatchProgressProto(const train::BatchProgress& p);
// A validation report as an event's confusion matrix; `class_names` by class id (may be empty).
v1::ConfusionMatrix ConfusionMatrixProto(const train::ValidationReport& r,
                                         const std::vector<std::string>& class_names);

}  // namespace mt::server

#endif  // MT_SERVER_RUNNER_H_
