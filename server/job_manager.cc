// JobManager's implementation: a facade that wires the parts together. Each call reads a job's
// row from the log, asks lifecycle.h whether and how it changes, appends the change, and tells
// the scheduler and the runner.
//
// Locking. write_mu_ serialises every change to a job (read its row, decide, append to the log)
// and every scheduling decision. It is taken before the job log's table lock, which guards what
// must change together with a job's row: the scheduler's queues and runtimes_ (see
// job_log.h: they change in the log's `apply` functions and are read under JobLog::Locked).
// Whoever holds write_mu_ may read runtimes_ without the table lock.
#include "server/job_manager.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "server/checkpoint_choice.h"
#include "server/checkpoint_meta.h"
#include "server/data_cache.h"
#include "server/devices.h"
#include "server/distributed_runner.h"
#include "server/inference.h"
#include "server/job_history.h"
#include "server/job_removal.h"
#include "server/job_spec.h"
#include "server/lifecycle.h"
#include "server/progress_rate.h"
#include "server/recovery.h"
#include "server/request_limits.h"
#include "server/runner.h"
#include "server/scheduler.h"
#include "server/serial_executor.h"
#include "server/state_dir_lock.h"
#include "server/worker_spec.h"

namespace mt::server {
namespace {

namespace fs = std::filesystem;

constexpr char kDatabaseName[] = "mt.db";

class JobManagerImpl : public JobManager {
 public:
  explicit JobManagerImpl(const Options& options) : options_(options) {}
  ~JobManagerImpl() override { Shutdown(); }

  absl::Status Init();

  absl::StatusOr<v1::Job> Submit(const v1::JobSpec& spec) override {
    return SubmitAs(spec, Caller::Local());
  }
  absl::StatusOr<v1::Job> SubmitAs(const v1::JobSpec& spec, const Caller& caller) override;
  absl::StatusOr<v1::Job> Get(const std::string& job_id) const override;
  std::vector<v1::Job> List(v1::JobState state) const override {
    return ListVisibleTo(state, Caller::Local());
  }
  std::vector<v1::Job> ListVisibleTo(v1::JobState state, const Caller& caller) const override;
  using JobManager::Cancel;
  absl::StatusOr<v1::Job> Cancel(const std::string& job_id,
                                 std::chrono::steady_clock::time_point deadline) override;
  absl::StatusOr<v1::Job> Resume(const std::string& job_id) override;
  absl::StatusOr<WatchBatch> Watch(const std::string& job_id, int64_t from_seq, bool follow,
                                   int64_t progress_version,
                                   std::chrono::milliseconds timeout) override;
  using JobManager::Activations;
  using JobManager::Export;
  using JobManager::Predict;
  absl::StatusOr<ActivationsResult> Activations(const std::string& job_id,
                                                const ModelInput& input,
                                                const CheckpointChoice& which) override;
  absl::StatusOr<v1::PredictResponse> Predict(const std::string& job_id,
                                              const ModelInput& input,
                                              const CheckpointChoice& which) override;
  absl::StatusOr<std::string> Export(const std::string& job_id,
                                     const CheckpointChoice& which) override;
  absl::StatusOr<int64_t> Delete(const std::string& job_id) override;
  absl::StatusOr<PruneResult> Prune(int64_t created_before_ms, const Caller& caller,
                                    bool dry_run) override;
  std::vector<v1::Device> Devices() const override;
  void Shutdown() override;

 private:
  // What the manager keeps about a job besides its row.
  struct Runtime {
    train::TrainConfig config;    // data_dir set
    bool user_cancelled = false;  // this run: CANCELLED rather than INTERRUPTED
    int64_t resume_epoch = 0;     // the checkpoint's epoch when the next run resumes
    int workers = 1;              // data-parallel worker processes (spec.workers)
  };

  std::string JobDir(const std::string& id) const {
    return absl::StrCat(options_.state_dir, "/jobs/", id);
  }
  std::string Checkpoint(const std::string& id) const { return LatestCheckpointPath(JobDir(id)); }
  v1::Job DecoratedLocked(const v1::Job& job) const;  // table lock held
  // ChooseCheckpoint for the job (NotFound for an unknown job).
  absl::StatusOr<std::string> CheckpointOf(const std::string& job_id,
                                           const CheckpointChoice& which) const;
  absl::StatusOr<int64_t> DeleteLocked(const std::string& job_id);  // write_mu_ held
  absl::StatusOr<train::TrainConfig> ConfigOf(const std::string& job_id) const;

  void ScheduleLocked();  // write_mu_ held: starts queued jobs where a device has a free slot
  // write_mu_ held: ResourceExhausted when `user` has max_queued_per_user jobs QUEUED.
  absl::Status CheckQueueRoomLocked(const std::string& user, const char* action) const;
  RunCallbacks CallbacksFor(const std::string& id);
  absl::Status RecordEpoch(const std::string& id, const v1::EpochMetrics& m);
  // Appends a history event (job_history.h) to the job's log; the row does not change.
  absl::Status RecordHistory(const std::string& id, const v1::JobEvent& event);
  void Finish(const std::string& id, const RunOutcome& o);

  const Options options_;
  std::string data_dir_;
  int default_threads_ = 1;
  int max_workers_ = 1;
  std::unique_ptr<StateDirLock> lock_;
  std::unique_ptr<JobLog> log_;
  DataCache data_;
  Inference inference_{&data_, options_.inference_limits};
  std::unique_ptr<Scheduler> scheduler_;  // guarded by the log's table lock
  JobHistory history_{absl::StrCat(options_.state_dir, "/jobs")};  // thread-safe
  std::unique_ptr<JobRunner> runner_;     // destroyed first: its threads use the rest

  std::mutex write_mu_;
  int64_t next_queue_order_ = 1;               // guarded by write_mu_
  std::map<std::string, Runtime> runtimes_;    // see the file comment

  std::mutex shutdown_mu_;
  bool stopped_ = false;  // guarded by shutdown_mu_

  // Running jobs' training-loss points are written here, off the jobs' threads (the database
  // syncs every append). A job's epoch, confusion and end events drain it first (CallbacksFor),
  // so the log keeps the order they happened in. Its thread runs at nice +10: a background
  // writer that training threads need not yield to. Last: destroyed first, running what is
  // queued while the log is still there.
  SerialExecutor history_writer_{/*max_queued=*/1024, /*nice_increment=*/10};
};

absl::Status JobManagerImpl::Init() {
  if (absl::Status s = ValidateOptions(options_); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<StateDirLock>> lock = StateDirLock::Acquire(options_.state_dir);
  if (!lock.ok()) return lock.status();
  lock_ = std::move(*lock);
  data_dir_ = DataDir(options_);
  const std::vector<v1::Device> devices = DiscoverDevices(options_.max_running_per_device);
  default_threads_ = DefaultThreads(devices, options_.cpu_threads);
  scheduler_ = std::make_unique<Scheduler>(devices);
  max_workers_ = options_.max_workers > 0
                     ? options_.max_workers
                     : DefaultThreads(devices, 0) * (1 + options_.peer_count);
  WorkerLaunch launch;
  launch.binary = WorkerBinary(options_);
  launch.timeout = std::chrono::seconds(options_.worker_timeout_s);
  launch.peers = options_.peer_launcher;
  runner_ = std::make_unique<DistributedRunner>(std::make_unique<ThreadRunner>(&data_), launch);

  absl::StatusOr<std::unique_ptr<JobLog>> log =
      JobLog::Open(absl::StrCat(options_.state_dir, "/", kDatabaseName));
  if (!log.ok()) return log.status();
  log_ = std::move(*log);
  absl::StatusOr<std::vector<StoredJob>> rows = log_->Load();
  if (!rows.ok()) return rows.status();
  std::lock_guard<std::mutex> wlock(write_mu_);
  for (const StoredJob& row : *rows) {
    Runtime& rt = runtimes_[row.job.id()];
    rt.config = ConfigFromResolvedSpec(row.job.spec());
    rt.config.data_dir = data_dir_;
    rt.workers = std::max(1, row.job.spec().workers());
    next_queue_order_ = std::max(next_queue_order_, row.queue_order + 1);
  }
  // Nobody else sees the scheduler yet: RecoverJobs may queue jobs without the table lock.
  absl::StatusOr<std::map<std::string, int64_t>> resume_epochs = RecoverJobs(
      *log_, *rows, [&](const std::string& id) { return InspectCheckpoint(Checkpoint(id)); },
      *scheduler_);
  if (!resume_epochs.ok()) return resume_epochs.status();
  for (const auto& [id, epoch] : *resume_epochs) runtimes_[id].resume_epoch = epoch;
  ScheduleLocked();
  return absl::OkStatus();
}

v1::Job JobManagerImpl::DecoratedLocked(const v1::Job& j) const {
  v1::Job job = j;
  if (job.state() == v1::RUNNING) {
    if (const v1::BatchProgress* p = log_->ProgressLocked(job.id())) *job.mutable_progress() = *p;
  }
  if (job.state() != v1::QUEUED) return job;
  if (log_->ShuttingDownLocked()) {
    job.set_waiting_reason("the daemon is shutting down; the job will run after it restarts");
  } else if (scheduler_->HasDevice(job.device())) {
    job.set_waiting_reason(scheduler_->WaitingReason(job.device(), job.id()));
  }
  return job;
}

absl::StatusOr<v1::Job> JobManagerImpl::Get(const std::string& job_id) const {
  if (absl::Status s = CheckJobId(job_id); !s.ok()) return s;
  absl::StatusOr<v1::Job> out = JobLog::NoSuchJob(job_id);
  log_->Locked([&] {
    if (const v1::Job* j = log_->FindLocked(job_id)) out = DecoratedLocked(*j);
  });
  return out;
}

std::vector<v1::Job> JobManagerImpl::ListVisibleTo(v1::JobState state,
                                                   const Caller& caller) const {
  std::vector<v1::Job> out;
  log_->Locked([&] {
    for (const v1::Job* j : log_->NewestFirstLocked()) {
      if (!caller.MayAccess(j->owner())) continue;
      if (state == v1::JOB_STATE_UNSPECIFIED || j->state() == state) {
        out.push_back(DecoratedLocked(*j));
      }
    }
  });
  return out;
}

std::vector<v1::Device> JobManagerImpl::Devices() const {
  std::vector<v1::Device> out;
  log_->Locked([&] {
    for (const std::string& name : scheduler_->device_names()) {
      out.push_back(scheduler_->Describe(name));
    }
  });
  // Outside the lock: the first query of a GPU creates its context.
  for (v1::Device& d : out) RefreshDeviceMemory(&d);
  return out;
}

absl::StatusOr<v1::Job> JobManagerImpl::SubmitAs(const v1::JobSpec& spec,
                                                 const Caller& caller) {
  // "auto" (or no device) is a free GPU when there is one, else the CPU.
  v1::JobSpec placed = spec;
  if (placed.device().empty() || placed.device() == "auto") {
    std::vector<v1::Device> now;
    log_->Locked([&] {
      for (const std::string& name : scheduler_->device_names()) {
        now.push_back(scheduler_->Describe(name));
      }
    });
    placed.set_device(ChooseAutoDevice(now));
  }
  absl::StatusOr<ResolvedSpec> resolved =
      ResolveSpec(placed, scheduler_->device_names(), default_threads_, EmbeddingsDir(options_));
  if (!resolved.ok()) return resolved.status();
  if (absl::Status s = ResolveWorkers(spec, max_workers_, default_threads_, &*resolved); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> wlock(write_mu_);
  if (log_->ShuttingDown()) {
    return absl::UnavailableError("the daemon is shutting down; submit again after restart");
  }
  if (absl::Status s = CheckQueueRoomLocked(caller.user, "submit"); !s.ok()) return s;
  // A folder left by an older database (e.g. one that was deleted) is skipped rather than
  // mistaken for this job's checkpoints.
  absl::StatusOr<std::string> new_id = log_->NewJobId([&](const std::string& id) {
    std::error_code ec;
    return fs::exists(JobDir(id), ec);
  });
  if (!new_id.ok()) return new_id.status();
  const std::string id = *new_id;
  const int64_t now = NowMs();
  v1::Job job = NewJob(id, resolved->spec, now);
  job.set_owner(caller.user);
  v1::JobEvent event = StateEvent(v1::QUEUED, SubmittedMessage(job), false);
  event.set_unix_ms(now);
  Runtime rt;
  rt.config = resolved->config;
  rt.config.data_dir = data_dir_;
  rt.workers = resolved->spec.workers();
  absl::Status s = log_->Insert(job, next_queue_order_++, event, [&] {
    runtimes_[id] = std::move(rt);
    scheduler_->Enqueue(job.device(), id);
  });
  if (!s.ok()) return s;
  ScheduleLocked();
  return Get(id);
}

absl::StatusOr<v1::Job> JobManagerImpl::Cancel(const std::string& job_id,
                                               std::chrono::steady_clock::time_point deadline) {
  if (absl::Status s = CheckJobId(job_id); !s.ok()) return s;
  std::unique_lock<std::mutex> wlock(write_mu_);
  absl::StatusOr<StoredJob> row = log_->Row(job_id);
  if (!row.ok()) return row.status();
  Runtime& rt = runtimes_.at(job_id);
  if (row->job.state() == v1::QUEUED) {
    v1::Job job = row->job;
    job.set_state(v1::CANCELLED);
    const std::string message = CancelledWhileQueuedMessage(rt.resume_epoch);
    absl::Status s =
        log_->Append(job, row->queue_order, StateEvent(v1::CANCELLED, message, true), false,
                     [&] { scheduler_->Remove(job.device(), job_id); });
    if (!s.ok()) return s;
  } else if (row->job.state() == v1::RUNNING) {
    log_->Locked([&] {
      rt.user_cancelled = true;
      runner_->Cancel(job_id);
    });
    wlock.unlock();  // the run needs it to record that it stopped
    if (!log_->WaitUntil(job_id, [](const v1::Job& j) { return j.state() != v1::RUNNING; },
                         deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("job ", job_id, " is still stopping; it stops after its current batch (",
                       "`mt-client status ", job_id, "` shows it)"));
    }
  }
  return Get(job_id);
}

absl::Status JobManagerImpl::CheckQueueRoomLocked(const std::string& user,
                                                  const char* action) const {
  // Counted under write_mu_, which every change of state holds: nothing slips past it.
  int64_t queued = 0;
  log_->Locked([&] {
    for (const v1::Job* j : log_->NewestFirstLocked()) {
      queued += j->state() == v1::QUEUED && j->owner() == user;
    }
  });
  if (queued < options_.max_queued_per_user) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      user.empty() ? "you" : absl::StrCat("user ", user), " already ",
      user.empty() ? "have " : "has ", queued, " queued jobs, the most allowed (",
      "--max_queued_per_user=", options_.max_queued_per_user, "); wait for some to start or ",
      "cancel some, then ", action, " again"));
}

absl::StatusOr<v1::Job> JobManagerImpl::Resume(const std::string& job_id) {
  if (absl::Status s = CheckJobId(job_id); !s.ok()) return s;
  std::lock_guard<std::mutex> wlock(write_mu_);
  absl::StatusOr<StoredJob> row = log_->Row(job_id);
  if (!row.ok()) return row.status();
  if (log_->ShuttingDown()) {
    return absl::UnavailableError("the daemon is shutting down; resume the job after restart");
  }
  if (absl::Status s = CheckResumable(row->job); !s.ok()) return s;
  // Resuming queues the job again: it counts against its owner's limit like a submission.
  if (absl::Status s = CheckQueueRoomLocked(row->job.owner(), "resume"); !s.ok()) return s;
  // A small header read; only this job's writers wait on it.
  const int64_t epoch = CheckpointEpoch(Checkpoint(job_id));
  v1::Job job = row->job;
  job.set_state(v1::QUEUED);
  job.clear_error();
  const std::string message = ResumedMessage(job, epoch);
  absl::Status s = log_->Append(job, next_queue_order_++, StateEvent(v1::QUEUED, message, false),
                                false, [&] {
                                  runtimes_.at(job_id).resume_epoch = epoch;
                                  scheduler_->Enqueue(job.device(), job_id);
                                });
  if (!s.ok()) return s;
  ScheduleLocked();
  return Get(job_id);
}

absl::StatusOr<WatchBatch> JobManagerImpl::Watch(const std::string& job_id, int64_t from_seq,
                                                 bool follow, int64_t progress_version,
                                                 std::chrono::milliseconds timeout) {
  if (absl::Status s = CheckJobId(job_id); !s.ok()) return s;
  // A day bounds a wait that no caller means literally, and keeps the time point finite.
  timeout = std::clamp(timeout, std::chrono::milliseconds(0),
                       std::chrono::milliseconds(std::chrono::hours(24)));
  return log_->Watch(job_id, from_seq, follow, progress_version,
                     std::chrono::steady_clock::now() + timeout);
}

void JobManagerImpl::ScheduleLocked() {
  for (const std::string& name : scheduler_->device_names()) {
    for (;;) {
      std::optional<std::string> next;
      log_->Locked([&] {
        if (!log_->ShuttingDownLocked()) next = scheduler_->NextToStart(name);
      });
      if (!next) break;
      const std::string id = *next;
      absl::StatusOr<StoredJob> row = log_->Row(id);
      if (!row.ok()) break;
      Runtime& rt = runtimes_.at(id);
      v1::Job job = row->job;
      job.set_state(v1::RUNNING);
      std::string message = RunningMessage(name, rt.config.threads, rt.resume_epoch);
      if (rt.workers > 1) absl::StrAppend(&message, " x ", rt.workers, " worker processes");
      absl::Status s = log_->Append(job, row->queue_order, StateEvent(v1::RUNNING, message, false),
                                    false, [&] {
        scheduler_->Started(name);
        rt.user_cancelled = false;
        log_->ClearProgressLocked(id);
        // Shutdown may have begun while the RUNNING row was being written; its cancel sweep
        // missed this run, so it stops at once.
        runner_->Start(RunRequest{id, rt.config, JobDir(id), rt.workers, nullptr, name},
                       log_->ShuttingDownLocked(),
                       CallbacksFor(id));
      });
      // The job stays queued; the next change (a submit, a job ending) tries again.
      if (!s.ok()) break;
    }
  }
}

RunCallbacks JobManagerImpl::CallbacksFor(const std::string& id) {
  RunCallbacks c;
  // Called under write_mu_ (ScheduleLocked), which guards runtimes_; the callbacks run on
  // the job's own thread, one at a time, so the rate needs no lock of its own.
  const train::TrainConfig& config = runtimes_.at(id).config;
  auto rate = std::make_shared<ProgressRate>(config.batch_size, config.epochs);
  c.on_progress = [this, id, rate](const v1::BatchProgress& p) {
    log_->SetProgress(id, rate->Annotate(p, std::chrono::steady_clock::now()));
    // A point that cannot be written is lost (the log says why); training goes on.
    if (std::optional<v1::JobEvent> e = history_.OnProgress(id, p)) {
      history_writer_.Post(
          [this, id, e = std::move(*e)] { RecordHistory(id, e).IgnoreError(); });
    }
  };
  c.on_epoch = [this, id](const v1::EpochMetrics& m) {
    history_writer_.Drain();  // the epoch's loss points come before its event
    absl::Status s = RecordEpoch(id, m);
    if (s.ok()) history_.OnEpoch(id, m, [this, id] { return Activations(id, ModelInput{}); });
    return s;
  };
  c.on_history = [this, id](const v1::JobEvent& e) {
    history_writer_.Drain();
    return RecordHistory(id, e);
  };
  c.on_finished = [this, id](const RunOutcome& o) {
    history_writer_.Drain();  // the run's last points come before its end
    history_.EndRun(id);
    Finish(id, o);
  };
  return c;
}

absl::Status JobManagerImpl::RecordEpoch(const std::string& id, const v1::EpochMetrics& m) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  absl::StatusOr<StoredJob> row = log_->Row(id);
  if (!row.ok()) return row.status();
  v1::JobEvent event;
  *event.mutable_epoch() = m;
  return log_->Append(JobAfterEpoch(row->job, m), row->queue_order, event, false, [&] {
    runtimes_.at(id).resume_epoch = m.epoch();
    log_->ClearProgressLocked(id);  // the epoch's event supersedes its last batch
  });
}

absl::Status JobManagerImpl::RecordHistory(const std::string& id, const v1::JobEvent& event) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  absl::StatusOr<StoredJob> row = log_->Row(id);
  if (!row.ok()) return row.status();
  return log_->Append(row->job, row->queue_order, event, false);
}

void JobManagerImpl::Finish(const std::string& id, const RunOutcome& o) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  absl::StatusOr<StoredJob> row = log_->Row(id);
  if (!row.ok()) return;
  Runtime& rt = runtimes_.at(id);
  bool shutting_down = false;
  int64_t epoch_in_progress = 0;
  log_->Locked([&] {
    shutting_down = log_->ShuttingDownLocked();
    epoch_in_progress = log_->ProgressEpochLocked(id);
  });
  std::string message;
  const v1::Job job =
      EndedJob(row->job, o, rt.user_cancelled, shutting_down, epoch_in_progress, &message);
  log_->Append(job, row->queue_order, StateEvent(job.state(), message, /*terminal=*/true),
               /*force=*/true, [&] {
                 scheduler_->Finished(job.device());
                 log_->ClearProgressLocked(id);
                 // A run that failed before restoring knows no epoch; the checkpoint still exists.
                 rt.resume_epoch = std::max(rt.resume_epoch, o.completed_epochs);
               })
      .IgnoreError();  // logged by the log; the job has left RUNNING in memory either way
  ScheduleLocked();
}

void JobManagerImpl::Shutdown() {
  // A second caller waits here until the first has finished.
  std::lock_guard<std::mutex> guard(shutdown_mu_);
  if (stopped_ || !log_) return;
  log_->BeginShutdown([&] { runner_->CancelAll(); });
  // A scheduling pass under way has started its run (already cancelled) once this is free.
  { std::lock_guard<std::mutex> barrier(write_mu_); }
  runner_->WaitIdle();
  log_->MarkStopped();
  stopped_ = true;
}

absl::StatusOr<train::TrainConfig> JobManagerImpl::ConfigOf(const std::string& job_id) const {
  if (absl::Status s = CheckJobId(job_id); !s.ok()) return s;
  absl::StatusOr<train::TrainConfig> config = JobLog::NoSuchJob(job_id);
  log_->Locked([&] {
    if (auto it = runtimes_.find(job_id); it != runtimes_.end()) config = it->second.config;
  });
  return config;
}

absl::StatusOr<std::string> JobManagerImpl::CheckpointOf(const std::string& job_id,
                                                         const CheckpointChoice& which) const {
  absl::StatusOr<v1::Job> job = Get(job_id);
  if (!job.ok()) return job.status();
  return ChooseCheckpoint(JobDir(job_id), job_id, job->best_epoch(), which);
}

absl::StatusOr<ActivationsResult> JobManagerImpl::Activations(const std::string& job_id,
                                                              const ModelInput& input,
                                                              const CheckpointChoice& which) {
  absl::StatusOr<train::TrainConfig> config = ConfigOf(job_id);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::string> checkpoint = CheckpointOf(job_id, which);
  if (!checkpoint.ok()) return checkpoint.status();
  return inference_.Activations(job_id, *config, *checkpoint, input);
}

absl::StatusOr<v1::PredictResponse> JobManagerImpl::Predict(const std::string& job_id,
                                                            const ModelInput& input,
                                                            const CheckpointChoice& which) {
  absl::StatusOr<train::TrainConfig> config = ConfigOf(job_id);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::string> checkpoint = CheckpointOf(job_id, which);
  if (!checkpoint.ok()) return checkpoint.status();
  return inference_.Predict(job_id, *config, *checkpoint, input);
}

absl::StatusOr<std::string> JobManagerImpl::Export(const std::string& job_id,
                                                   const CheckpointChoice& which) {
  if (absl::StatusOr<train::TrainConfig> c = ConfigOf(job_id); !c.ok()) return c.status();
  absl::StatusOr<std::string> checkpoint = CheckpointOf(job_id, which);
  if (!checkpoint.ok()) return checkpoint.status();
  return inference_.Export(job_id, *checkpoint);
}

absl::StatusOr<int64_t> JobManagerImpl::Delete(const std::string& job_id) {
  if (absl::Status s = CheckJobId(job_id); !s.ok()) return s;
  std::lock_guard<std::mutex> wlock(write_mu_);
  return DeleteLocked(job_id);
}

absl::StatusOr<int64_t> JobManagerImpl::DeleteLocked(const std::string& job_id) {
  absl::StatusOr<StoredJob> row = log_->Row(job_id);
  if (!row.ok()) return row.status();
  if (absl::Status s = CheckDeletable(row->job); !s.ok()) return s;
  // The database first: once the row is gone nothing refers to the folder, and a folder left
  // behind by a failure below is never mistaken for a new job's (NewJobId skips it).
  if (absl::Status s = log_->Remove(job_id); !s.ok()) return s;
  log_->Locked([&] { runtimes_.erase(job_id); });
  return RemoveJobFiles(JobDir(job_id), job_id);
}

absl::StatusOr<JobManager::PruneResult> JobManagerImpl::Prune(int64_t created_before_ms,
                                                              const Caller& caller,
                                                              bool dry_run) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  PruneResult r;
  std::vector<std::string> ids;
  log_->Locked([&] {
    for (const v1::Job* j : log_->NewestFirstLocked()) {
      if (!caller.MayAccess(j->owner()) || !IsTerminal(j->state())) continue;
      if (created_before_ms > 0 && j->created_unix_ms() >= created_before_ms) continue;
      ids.push_back(j->id());
    }
  });
  for (const std::string& id : ids) {
    if (dry_run) {
      r.bytes_freed += FolderBytes(JobDir(id));
    } else {
      absl::StatusOr<int64_t> freed = DeleteLocked(id);
      if (!freed.ok()) return freed.status();
      r.bytes_freed += *freed;
    }
    r.job_ids.push_back(id);
  }
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Create(const Options& options) {
  auto manager = std::make_unique<JobManagerImpl>(options);
  if (absl::Status s = manager->Init(); !s.ok()) return s;
  return std::unique_ptr<JobManager>(std::move(manager));
}

}  // namespace mt::server
