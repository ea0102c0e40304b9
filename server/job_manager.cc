// JobManager's implementation: the job table, per-device FIFO queues, one worker thread per
// running job, the SQLite event log, and inference from checkpoints.
//
// Locking. Two mutexes, always taken in this order:
//   write_mu_  serialises every change to a job (state, events, queues) and is held across the
//              SQLite transaction, so events reach the database in seq order and the database
//              never disagrees with memory about what the next seq is.
//   mu_        guards the in-memory table for readers (Get, List, Watch, progress) and is held
//              only for memory updates, never across disk I/O or training, so a slow fsync or a
//              long epoch never blocks a Get or wakes a watcher late.
// A job's persisted fields (entry->job) change only with both held; whoever holds write_mu_ may
// read them without mu_.
#include "server/job_manager.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/autograd.h"
#include "engine/data/mnist.h"
#include "engine/data/sst2.h"
#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/models/models.h"
#include "engine/train/config.h"
#include "engine/train/datasets.h"
#include "engine/train/trainer.h"
#include "server/job_spec.h"
#include "common/png.h"
#include "server/store.h"

namespace mt::server {

using io::DecodePngToGray;
using io::EncodeGrayPng;
using io::GrayImage;
namespace {

namespace fs = std::filesystem;

constexpr char kDatabaseName[] = "mt.db";
constexpr char kLockName[] = "daemon.lock";
constexpr char kLatestCheckpoint[] = "latest.safetensors";
constexpr char kVocabKey[] = "mt.vocab";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsTerminal(v1::JobState s) {
  return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED || s == v1::INTERRUPTED;
}

std::string StateName(v1::JobState s) { return v1::JobState_Name(s); }

std::string Ordinal(int64_t n) {
  const char* suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1) suffix = "st";
    if (n % 10 == 2) suffix = "nd";
    if (n % 10 == 3) suffix = "rd";
  }
  return absl::StrCat(n, suffix);
}

std::string Percent(double fraction) { return absl::StrFormat("%.2f%%", 100 * fraction); }

v1::JobEvent StateEvent(v1::JobState state, const std::string& message, bool terminal) {
  v1::JobEvent e;
  e.mutable_state()->set_state(state);
  e.mutable_state()->set_message(message);
  e.set_terminal(terminal);
  return e;
}

v1::EpochMetrics ToProto(const train::EpochMetrics& m) {
  v1::EpochMetrics p;
  p.set_epoch(m.epoch);
  p.set_train_loss(m.train_loss);
  p.set_train_accuracy(m.train_accuracy);
  p.set_valid_accuracy(m.valid_accuracy);
  p.set_valid_correct(m.valid_correct);
  p.set_valid_total(m.valid_total);
  p.set_seconds(m.seconds);
  p.set_samples_per_second(m.samples_per_second);
  p.set_learning_rate(m.lr);
  return p;
}

// The epoch a checkpoint was written after; 0 when there is none (or it is unreadable, which the
// resumed run will then report properly).
int64_t CheckpointEpoch(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return 0;
  absl::StatusOr<std::map<std::string, std::string>> meta = io::ReadSafetensorsMetadata(path);
  if (!meta.ok()) return 0;
  auto it = meta->find("mt.epoch");
  int64_t epoch = 0;
  if (it == meta->end() || !absl::SimpleAtoi(it->second, &epoch)) return 0;
  return epoch;
}

std::string CheckpointPhrase(int64_t epoch) {
  return epoch > 0 ? absl::StrCat("last checkpoint: epoch ", epoch)
                   : "no checkpoint: no epoch had finished";
}

std::string JoinVocab(const data::Vocab& vocab) {
  std::string out;
  for (const std::string& t : vocab.tokens()) absl::StrAppend(&out, t, "\n");
  return out;
}

absl::StatusOr<std::shared_ptr<data::Vocab>> VocabFromMetadata(const io::TensorFile& file,
                                                               const std::string& path) {
  auto it = file.metadata.find(kVocabKey);
  if (it == file.metadata.end()) {
    return absl::DataLossError(absl::StrCat(path, ": checkpoint lacks the vocabulary (",
                                            kVocabKey, " metadata)"));
  }
  std::vector<std::string> tokens = absl::StrSplit(it->second, '\n');
  if (!tokens.empty() && tokens.back().empty()) tokens.pop_back();  // newline-terminated
  absl::StatusOr<data::Vocab> vocab = data::Vocab::FromTokens(std::move(tokens));
  if (!vocab.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": vocabulary in metadata is damaged: ",
                                            vocab.status().message()));
  }
  return std::make_shared<data::Vocab>(std::move(*vocab));
}

// Loaded datasets shared by jobs with the same data (full MNIST takes about a second to load).
// Entries live while a job uses them; the most recent one is kept warm for the next job.
class DataCache {
 public:
  absl::StatusOr<std::shared_ptr<const train::TaskData>> Get(const train::TrainConfig& c) {
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

 private:
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<const train::TaskData>> cache_;
  std::shared_ptr<const train::TaskData> last_;
};

// What a running job's worker and the rest of the manager share.
struct RunControl {
  std::atomic<bool> cancel{false};  // polled by the trainer between batches
  bool user_cancelled = false;      // guarded by mu_: CANCELLED rather than INTERRUPTED
};

struct JobEntry {
  v1::Job job;  // as persisted; waiting_reason is filled in on the way out
  int64_t queue_order = 0;
  train::TrainConfig config;
  std::vector<v1::JobEvent> events;  // persisted events, seq 1..n
  std::shared_ptr<RunControl> run;   // while RUNNING
  int64_t resume_epoch = 0;          // the checkpoint's epoch when the next run resumes
  // The latest batch progress (never persisted); progress_version only grows, across runs.
  bool has_progress = false;
  v1::JobEvent progress;
  int64_t progress_version = 0;
  // Signalled on every new event, progress, state change and shutdown.
  std::condition_variable cv;
};

struct DeviceState {
  v1::Device info;  // the static parts
  int running = 0;
  std::deque<std::string> queue;
};

struct LoadedModel {
  std::unique_ptr<models::Model> model;
  train::TrainConfig config;
  std::shared_ptr<data::Vocab> vocab;  // sst2
  int64_t epoch = 0;
};

struct PreparedInput {
  Tensor input;
  int64_t label = -1;
};

class JobManagerImpl : public JobManager {
 public:
  explicit JobManagerImpl(const Options& options) : options_(options) {}
  ~JobManagerImpl() override {
    Shutdown();
    if (lock_fd_ >= 0) close(lock_fd_);
  }

  absl::Status Init();

  absl::StatusOr<v1::Job> Submit(const v1::JobSpec& spec) override;
  absl::StatusOr<v1::Job> Get(const std::string& job_id) const override;
  std::vector<v1::Job> List(v1::JobState state) const override;
  absl::StatusOr<v1::Job> Cancel(const std::string& job_id) override;
  absl::StatusOr<v1::Job> Resume(const std::string& job_id) override;
  absl::StatusOr<WatchBatch> Watch(const std::string& job_id, int64_t from_seq, bool follow,
                                   int64_t progress_version,
                                   std::chrono::milliseconds timeout) override;
  absl::StatusOr<ActivationsResult> Activations(const std::string& job_id,
                                                const ModelInput& input) override;
  absl::StatusOr<v1::PredictResponse> Predict(const std::string& job_id,
                                              const ModelInput& input) override;
  absl::StatusOr<std::string> Export(const std::string& job_id) override;
  std::vector<v1::Device> Devices() const override;
  void Shutdown() override;

 private:
  class Callback;

  std::string JobDir(const std::string& id) const {
    return absl::StrCat(options_.state_dir, "/jobs/", id);
  }
  // The job's newest checkpoint, or FailedPrecondition when no epoch has finished yet.
  absl::StatusOr<io::TensorFile> ReadLatestCheckpoint(const std::string& job_id) const;
  std::string LatestCheckpoint(const std::string& id) const {
    return absl::StrCat(JobDir(id), "/", kLatestCheckpoint);
  }
  absl::Status LockStateDir();
  void InitDevices();
  absl::Status Recover();

  JobEntry* FindLocked(const std::string& id) const {
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second.get();
  }
  absl::Status NoSuchJob(const std::string& id) const {
    return absl::NotFoundError(absl::StrCat("no job '", id, "' (ListJobs shows every job)"));
  }
  v1::Job DecoratedLocked(const JobEntry& e) const;

  // Persists `event` (seq assigned here) with the job's new row, then, under mu_, makes both
  // visible, runs `apply` and wakes the job's watchers. write_mu_ must be held.
  // `force`: when the database refuses the write, apply it in memory anyway (logged), for
  // transitions that must not be lost from view, such as a job leaving RUNNING.
  absl::Status Commit(JobEntry* e, v1::Job job, int64_t queue_order, v1::JobEvent event,
                      bool force, const std::function<void()>& apply = nullptr);

  // Starts queued jobs where a device has a free slot. write_mu_ must be held.
  void ScheduleLocked();
  void ReapWorkersLocked();

  // Worker thread: trains, then records the outcome.
  void RunWorker(std::string id, train::TrainConfig config, std::shared_ptr<RunControl> run,
                 int64_t worker);
  struct Outcome {
    absl::Status status;
    bool cancelled = false;
    int64_t completed_epochs = 0;
    double best_valid_accuracy = 0;
    int64_t best_epoch = 0;
  };
  Outcome Train(const std::string& id, const train::TrainConfig& config, RunControl* run);
  void Finish(const std::string& id, const std::shared_ptr<RunControl>& run, const Outcome& o);
  absl::Status RecordEpoch(const std::string& id, const train::EpochMetrics& m);
  // The same with write_mu_ already held.
  absl::Status RecordEpochLocked(JobEntry* e, const train::EpochMetrics& m);
  void RecordProgress(const std::string& id, const train::BatchProgress& p);

  absl::StatusOr<LoadedModel> LoadModel(const std::string& job_id);
  absl::StatusOr<PreparedInput> PrepareInput(const std::string& job_id, const LoadedModel& m,
                                             const ModelInput& input);
  // Runs the model on one input, eval mode, no graph: log-probabilities and, when asked, every
  // layer's output.
  absl::StatusOr<Tensor> Forward(LoadedModel& m, const Tensor& input, models::Activations* acts);

  const Options options_;
  std::string data_dir_;
  int default_threads_ = 1;
  int lock_fd_ = -1;
  std::unique_ptr<Store> store_;
  DataCache data_cache_;
  std::vector<std::string> device_names_;  // fixed after Init

  std::mutex write_mu_;
  // Guarded by write_mu_.
  std::map<int64_t, std::thread> workers_;
  int64_t next_worker_ = 1;
  int64_t next_queue_order_ = 1;

  mutable std::mutex mu_;
  // Guarded by mu_ (and written with write_mu_ held too, see the file comment).
  std::map<std::string, std::unique_ptr<JobEntry>> jobs_;
  std::vector<std::string> creation_order_;
  std::map<std::string, DeviceState> devices_;
  bool shutting_down_ = false;
  bool stopped_ = false;  // every worker has exited after Shutdown
  int live_workers_ = 0;
  std::vector<int64_t> finished_workers_;  // exited (or exiting) threads to join
  std::condition_variable workers_cv_;
};

// Bridges the trainer's callbacks to the manager.
class JobManagerImpl::Callback : public train::TrainerCallback {
 public:
  Callback(JobManagerImpl* manager, std::string id, RunControl* run)
      : manager_(manager), id_(std::move(id)), run_(run) {}
  void OnBatch(const train::BatchProgress& p) override { manager_->RecordProgress(id_, p); }
  void OnEpoch(const train::EpochMetrics& m) override {
    absl::Status s = manager_->RecordEpoch(id_, m);
    if (!s.ok() && persist_error_.ok()) {
      // An epoch nobody can see again is worse than a stopped job: stop and report why.
      persist_error_ = s;
      run_->cancel = true;
    }
  }
  const absl::Status& persist_error() const { return persist_error_; }

 private:
  JobManagerImpl* manager_;
  std::string id_;
  RunControl* run_;
  absl::Status persist_error_;
};

// ---------------------------------------------------------------------------------------------
// Start-up.

absl::Status JobManagerImpl::LockStateDir() {
  // Two daemons on one state directory would both "recover" the other's running jobs.
  const std::string path = absl::StrCat(options_.state_dir, "/", kLockName);
  lock_fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = pread(lock_fd_, buf, sizeof(buf) - 1, 0);
    std::string pid = n > 0 ? std::string(buf, n) : "unknown";
    close(lock_fd_);
    lock_fd_ = -1;
    return absl::FailedPreconditionError(
        absl::StrCat("state directory ", options_.state_dir,
                     " is in use by another mt daemon (pid ", pid, ")"));
  }
  std::string pid = std::to_string(getpid());
  if (ftruncate(lock_fd_, 0) == 0) {
    (void)!pwrite(lock_fd_, pid.data(), pid.size(), 0);
  }
  return absl::OkStatus();
}

void JobManagerImpl::InitDevices() {
  const unsigned hc = std::thread::hardware_concurrency();
  const int cores = hc > 0 ? static_cast<int>(hc) : 1;
  default_threads_ = options_.cpu_threads > 0 ? options_.cpu_threads : cores;
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  const int64_t memory = pages > 0 && page_size > 0 ? int64_t{pages} * page_size : 0;
  std::string model = "CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      if (size_t colon = line.find(':'); colon != std::string::npos) {
        model = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
      break;
    }
  }
  DeviceState cpu;
  cpu.info.set_name("cpu");
  cpu.info.set_kind("cpu");
  cpu.info.set_description(absl::StrFormat("%s, %d cores, %.1f GiB", model, cores,
                                           memory / (1024.0 * 1024 * 1024)));
  cpu.info.set_cores(cores);
  cpu.info.set_memory_bytes(memory);
  cpu.info.set_max_running(options_.max_running_per_device);
  devices_.emplace("cpu", std::move(cpu));
  // CUDA devices join this list once the engine has CUDA kernels.
  device_names_ = {"cpu"};
}

absl::Status JobManagerImpl::Init() {
  if (options_.state_dir.empty()) return absl::InvalidArgumentError("Options.state_dir is empty");
  if (options_.max_running_per_device < 1) {
    return absl::InvalidArgumentError(absl::StrCat("invalid max_running_per_device '",
                                                   options_.max_running_per_device,
                                                   "': must be >= 1"));
  }
  if (options_.cpu_threads < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid cpu_threads '", options_.cpu_threads, "': must be >= 0 (0 = every core)"));
  }
  std::error_code ec;
  fs::create_directories(absl::StrCat(options_.state_dir, "/jobs"), ec);
  if (ec) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot create state directory ", options_.state_dir, "/jobs: ", ec.message()));
  }
  if (absl::Status s = LockStateDir(); !s.ok()) return s;
  data_dir_ = options_.data_dir;
  if (data_dir_.empty()) {
    const char* env = std::getenv("MT_DATA_DIR");
    data_dir_ = env && *env ? env : "data";
  }
  InitDevices();
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(absl::StrCat(options_.state_dir, "/", kDatabaseName));
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  if (absl::Status s = Recover(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(write_mu_);
  ScheduleLocked();
  return absl::OkStatus();
}

absl::Status JobManagerImpl::Recover() {
  absl::StatusOr<std::vector<StoredJob>> rows = store_->LoadJobs();
  if (!rows.ok()) return rows.status();
  std::lock_guard<std::mutex> wlock(write_mu_);
  std::vector<std::pair<int64_t, std::string>> queued;
  for (StoredJob& row : *rows) {
    auto e = std::make_unique<JobEntry>();
    const std::string id = row.job.id();
    absl::StatusOr<std::vector<v1::JobEvent>> events = store_->LoadEvents(id);
    if (!events.ok()) return events.status();
    e->events = std::move(*events);
    e->job = std::move(row.job);
    // Both are written in one transaction; trust the log if they ever disagree.
    e->job.set_last_seq(e->events.empty() ? 0 : e->events.back().seq());
    e->queue_order = row.queue_order;
    next_queue_order_ = std::max(next_queue_order_, row.queue_order + 1);
    e->config = ConfigFromResolvedSpec(e->job.spec());
    e->config.data_dir = data_dir_;
    JobEntry* entry = e.get();
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_[id] = std::move(e);
      creation_order_.push_back(id);
    }
    if (entry->job.state() == v1::RUNNING) {
      // The daemon died (kill -9, power loss) while this job ran.
      const int64_t epoch = CheckpointEpoch(LatestCheckpoint(id));
      // Dying between an epoch's checkpoint rename and its event's commit leaves the
      // checkpoint one epoch ahead of the log. The checkpoint carries that epoch's metrics, so
      // the event is recorded now instead of lost.
      if (epoch == entry->job.epochs_done() + 1) {
        absl::StatusOr<std::map<std::string, std::string>> meta =
            io::ReadSafetensorsMetadata(LatestCheckpoint(id));
        if (meta.ok() && meta->count("mt.epoch_metrics")) {
          absl::StatusOr<train::EpochMetrics> m =
              train::EpochMetricsFromJson(meta->at("mt.epoch_metrics"));
          if (m.ok() && m->epoch == epoch) {
            if (absl::Status s = RecordEpochLocked(entry, *m); !s.ok()) return s;
          }
        }
      }
      entry->resume_epoch = epoch;
      v1::Job job = entry->job;
      job.set_state(v1::INTERRUPTED);
      absl::Status s = Commit(
          entry, job, entry->queue_order,
          StateEvent(v1::INTERRUPTED,
                     absl::StrCat("daemon stopped while running (", CheckpointPhrase(epoch),
                                  "); ResumeJob continues from there"),
                     /*terminal=*/true),
          /*force=*/false);
      if (!s.ok()) return s;
    } else if (entry->job.state() == v1::QUEUED) {
      queued.emplace_back(entry->queue_order, id);
    } else if (entry->job.state() == v1::INTERRUPTED || entry->job.state() == v1::CANCELLED) {
      entry->resume_epoch = CheckpointEpoch(LatestCheckpoint(id));
    }
  }
  std::sort(queued.begin(), queued.end());
  for (const auto& [order, id] : queued) {
    JobEntry* e = jobs_.at(id).get();
    e->resume_epoch = CheckpointEpoch(LatestCheckpoint(id));
    if (devices_.count(e->job.device())) {
      std::lock_guard<std::mutex> lock(mu_);
      devices_[e->job.device()].queue.push_back(id);
      continue;
    }
    // Queued for a device this machine (or build) no longer has.
    v1::Job job = e->job;
    job.set_state(v1::FAILED);
    job.set_error(absl::StrCat("device ", e->job.device(), " is not available (available: ",
                               absl::StrJoin(device_names_, ", "), ")"));
    absl::Status s = Commit(e, job, e->queue_order,
                            StateEvent(v1::FAILED, job.error(), /*terminal=*/true), false);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Job table.

v1::Job JobManagerImpl::DecoratedLocked(const JobEntry& e) const {
  v1::Job job = e.job;
  if (job.state() != v1::QUEUED) return job;
  if (shutting_down_) {
    job.set_waiting_reason("the daemon is shutting down; the job will run after it restarts");
    return job;
  }
  auto dev = devices_.find(job.device());
  if (dev == devices_.end()) return job;
  const DeviceState& d = dev->second;
  auto pos = std::find(d.queue.begin(), d.queue.end(), job.id());
  const int64_t place = pos - d.queue.begin() + 1;
  job.set_waiting_reason(absl::StrCat("waiting for ", job.device(), ": ", d.running, " of ",
                                      d.info.max_running(), " slots busy; ", Ordinal(place),
                                      " in queue"));
  return job;
}

absl::Status JobManagerImpl::Commit(JobEntry* e, v1::Job job, int64_t queue_order,
                                    v1::JobEvent event, bool force,
                                    const std::function<void()>& apply) {
  const int64_t now = NowMs();
  event.set_job_id(job.id());
  event.set_seq(e->job.last_seq() + 1);
  event.set_unix_ms(now);
  job.set_last_seq(event.seq());
  job.set_updated_unix_ms(now);
  job.clear_waiting_reason();
  absl::Status s = store_->AppendEvent(StoredJob{job, queue_order}, event);
  if (!s.ok()) {
    std::fprintf(stderr, "mt: job %s: cannot record event %lld: %s\n", job.id().c_str(),
                 static_cast<long long>(event.seq()), std::string(s.message()).c_str());
    if (!force) return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  e->job = std::move(job);
  e->queue_order = queue_order;
  e->events.push_back(std::move(event));
  if (apply) apply();
  e->cv.notify_all();
  return s;
}

absl::StatusOr<v1::Job> JobManagerImpl::Submit(const v1::JobSpec& spec) {
  absl::StatusOr<ResolvedSpec> resolved = ResolveSpec(spec, device_names_, default_threads_);
  if (!resolved.ok()) return resolved.status();
  std::lock_guard<std::mutex> wlock(write_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) {
      return absl::UnavailableError("the daemon is shutting down; submit again after restart");
    }
  }
  // Ids come from a counter in the database; a folder left by an older database (e.g. one that
  // was deleted) is skipped rather than mistaken for this job's checkpoints.
  std::string id;
  for (;;) {
    absl::StatusOr<int64_t> number = store_->NextJobNumber();
    if (!number.ok()) return number.status();
    id = absl::StrFormat("job-%06d", *number);
    std::error_code ec;
    if (!fs::exists(JobDir(id), ec)) break;
  }
  const int64_t now = NowMs();
  v1::Job job;
  job.set_id(id);
  *job.mutable_spec() = resolved->spec;
  job.set_state(v1::QUEUED);
  job.set_device(resolved->spec.device());
  job.set_created_unix_ms(now);
  job.set_updated_unix_ms(now);
  job.set_last_seq(1);
  v1::JobEvent event =
      StateEvent(v1::QUEUED, absl::StrCat("submitted; queued for ", job.device()), false);
  event.set_job_id(id);
  event.set_seq(1);
  event.set_unix_ms(now);
  const int64_t queue_order = next_queue_order_++;
  if (absl::Status s = store_->InsertJob(StoredJob{job, queue_order}, event); !s.ok()) return s;

  auto e = std::make_unique<JobEntry>();
  e->job = job;
  e->queue_order = queue_order;
  e->config = resolved->config;
  e->config.data_dir = data_dir_;
  e->events.push_back(event);
  JobEntry* entry = e.get();
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_[id] = std::move(e);
    creation_order_.push_back(id);
    devices_[job.device()].queue.push_back(id);
  }
  ScheduleLocked();
  std::lock_guard<std::mutex> lock(mu_);
  return DecoratedLocked(*entry);
}

absl::StatusOr<v1::Job> JobManagerImpl::Get(const std::string& job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const JobEntry* e = FindLocked(job_id);
  if (!e) return NoSuchJob(job_id);
  return DecoratedLocked(*e);
}

std::vector<v1::Job> JobManagerImpl::List(v1::JobState state) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::Job> out;
  for (auto it = creation_order_.rbegin(); it != creation_order_.rend(); ++it) {
    const JobEntry& e = *jobs_.at(*it);
    if (state == v1::JOB_STATE_UNSPECIFIED || e.job.state() == state) {
      out.push_back(DecoratedLocked(e));
    }
  }
  return out;
}

absl::StatusOr<v1::Job> JobManagerImpl::Cancel(const std::string& job_id) {
  std::unique_lock<std::mutex> wlock(write_mu_);
  JobEntry* e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    e = FindLocked(job_id);
    if (!e) return NoSuchJob(job_id);
  }
  const v1::JobState state = e->job.state();
  if (state == v1::QUEUED) {
    v1::Job job = e->job;
    job.set_state(v1::CANCELLED);
    absl::Status s =
        Commit(e, job, e->queue_order,
               StateEvent(v1::CANCELLED,
                          e->resume_epoch > 0
                              ? absl::StrCat("cancelled while queued (",
                                             CheckpointPhrase(e->resume_epoch), ")")
                              : "cancelled while queued",
                          /*terminal=*/true),
               /*force=*/false, [&] {
                 std::deque<std::string>& q = devices_[e->job.device()].queue;
                 q.erase(std::remove(q.begin(), q.end(), job_id), q.end());
               });
    if (!s.ok()) return s;
  } else if (state == v1::RUNNING) {
    std::unique_lock<std::mutex> lock(mu_);
    e->run->user_cancelled = true;
    e->run->cancel = true;
    wlock.unlock();  // the worker needs it to record that it stopped
    e->cv.wait(lock, [&] { return e->job.state() != v1::RUNNING; });
    return DecoratedLocked(*e);
  }
  std::lock_guard<std::mutex> lock(mu_);
  return DecoratedLocked(*e);
}

absl::StatusOr<v1::Job> JobManagerImpl::Resume(const std::string& job_id) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  JobEntry* e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    e = FindLocked(job_id);
    if (!e) return NoSuchJob(job_id);
    if (shutting_down_) {
      return absl::UnavailableError("the daemon is shutting down; resume the job after restart");
    }
  }
  const v1::Job& cur = e->job;
  switch (cur.state()) {
    case v1::INTERRUPTED:
    case v1::CANCELLED:
      break;
    case v1::QUEUED:
    case v1::RUNNING:
      return absl::FailedPreconditionError(
          absl::StrCat("job ", job_id, " is already ", StateName(cur.state())));
    case v1::SUCCEEDED:
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", job_id, " has SUCCEEDED: all ", cur.spec().epochs(),
          " epochs are done; submit a new job to train further"));
    case v1::FAILED:
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", job_id, " FAILED (", cur.error(),
          "); only INTERRUPTED or CANCELLED jobs can be resumed: submit a new job"));
    default:
      return absl::FailedPreconditionError(
          absl::StrCat("job ", job_id, " is in state ", StateName(cur.state())));
  }
  // A small header read; only this job's writers wait on it.
  const int64_t epoch = CheckpointEpoch(LatestCheckpoint(job_id));
  v1::Job job = cur;
  job.set_state(v1::QUEUED);
  job.clear_error();
  const std::string message =
      epoch > 0 ? absl::StrCat("resumed; queued for ", job.device(), "; continues after epoch ",
                               epoch)
                : absl::StrCat("resumed; queued for ", job.device(),
                               "; no epoch had finished, so it starts from the beginning");
  const int64_t queue_order = next_queue_order_++;
  absl::Status s = Commit(e, job, queue_order, StateEvent(v1::QUEUED, message, false),
                          /*force=*/false, [&] {
                            e->resume_epoch = epoch;
                            devices_[e->job.device()].queue.push_back(job_id);
                          });
  if (!s.ok()) return s;
  ScheduleLocked();
  std::lock_guard<std::mutex> lock(mu_);
  return DecoratedLocked(*e);
}

absl::StatusOr<WatchBatch> JobManagerImpl::Watch(const std::string& job_id, int64_t from_seq,
                                                 bool follow, int64_t progress_version,
                                                 std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  JobEntry* e = FindLocked(job_id);
  if (!e) return NoSuchJob(job_id);
  if (from_seq < 1 || from_seq > e->job.last_seq() + 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid from_seq '", from_seq, "': job ", job_id, " has events 1..", e->job.last_seq(),
        "; use 1 to replay all or ", e->job.last_seq() + 1, " for new ones only"));
  }
  bool timed_out = false;
  for (;;) {
    WatchBatch b;
    b.progress_version = progress_version;
    const bool terminal = IsTerminal(e->job.state());
    // Find by sequence number, not position: an event whose write failed (a forced commit on
    // a full disk) is missing from the database after a restart, leaving a gap.
    auto first = std::lower_bound(
        e->events.begin(), e->events.end(), from_seq,
        [](const v1::JobEvent& ev, int64_t seq) { return ev.seq() < seq; });
    for (auto it = first; it != e->events.end(); ++it) {
      b.events.push_back(*it);
      // A job resumed after CANCELLED/INTERRUPTED has an older terminal event in its log; the
      // stream ends only at the one that ends the job as it stands now.
      v1::JobEvent& ev = b.events.back();
      ev.set_terminal(ev.terminal() && terminal && ev.seq() == e->job.last_seq());
    }
    if (!follow || terminal) {
      b.finished = true;
      return b;
    }
    if (e->has_progress && e->progress_version > progress_version) {
      b.has_progress = true;
      b.progress = e->progress;
      b.progress.set_seq(e->job.last_seq());
      b.progress_version = e->progress_version;
    }
    // A running job's worker is about to record INTERRUPTED; wait for that rather than end the
    // stream with less information.
    if (shutting_down_ && (e->job.state() != v1::RUNNING || stopped_)) {
      v1::JobEvent bye = StateEvent(
          e->job.state(),
          absl::StrCat("the daemon is shutting down; job ", job_id, " stays ",
                       StateName(e->job.state()),
                       e->job.state() == v1::QUEUED ? " and runs after it restarts" : "",
                       "; watch again with from_seq=", e->job.last_seq() + 1),
          /*terminal=*/true);
      bye.set_job_id(job_id);
      bye.set_seq(e->job.last_seq());
      bye.set_unix_ms(NowMs());
      b.events.push_back(std::move(bye));
      b.finished = true;
      return b;
    }
    if (!b.events.empty() || b.has_progress || timed_out) return b;
    // After the timeout the loop takes one last look, so that an event that raced it is not
    // left for the next call.
    timed_out = e->cv.wait_until(lock, deadline) == std::cv_status::timeout;
  }
}

std::vector<v1::Device> JobManagerImpl::Devices() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::Device> out;
  for (const std::string& name : device_names_) {
    const DeviceState& d = devices_.at(name);
    v1::Device dev = d.info;
    dev.set_running(d.running);
    dev.set_queued(static_cast<int32_t>(d.queue.size()));
    out.push_back(std::move(dev));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running jobs.

void JobManagerImpl::ReapWorkersLocked() {
  std::vector<int64_t> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done.swap(finished_workers_);
  }
  // These threads have nothing left to do but return.
  for (int64_t w : done) {
    auto it = workers_.find(w);
    if (it == workers_.end()) continue;
    it->second.join();
    workers_.erase(it);
  }
}

void JobManagerImpl::ScheduleLocked() {
  ReapWorkersLocked();
  for (const std::string& name : device_names_) {
    for (;;) {
      JobEntry* e;
      {
        std::lock_guard<std::mutex> lock(mu_);
        DeviceState& d = devices_[name];
        if (shutting_down_ || d.queue.empty() || d.running >= d.info.max_running()) break;
        e = jobs_.at(d.queue.front()).get();
      }
      const std::string id = e->job.id();
      v1::Job job = e->job;
      job.set_state(v1::RUNNING);
      const std::string where = absl::StrCat(name, " (", e->config.threads,
                                             e->config.threads == 1 ? " thread)" : " threads)");
      const std::string message =
          e->resume_epoch > 0
              ? absl::StrCat("resumed after epoch ", e->resume_epoch, " on ", where)
              : absl::StrCat("running on ", where);
      absl::Status s =
          Commit(e, job, e->queue_order, StateEvent(v1::RUNNING, message, false),
                 /*force=*/false, [&] {
                   DeviceState& d = devices_[name];
                   d.queue.pop_front();
                   ++d.running;
                   e->run = std::make_shared<RunControl>();
                   // Shutdown() may have begun while the RUNNING row was being written (mu_ was
                   // released for it); its cancel sweep missed this run, so stop it at once.
                   e->run->cancel = shutting_down_;
                   e->has_progress = false;
                   ++live_workers_;
                   const int64_t worker = next_worker_++;
                   workers_[worker] = std::thread(&JobManagerImpl::RunWorker, this, id,
                                                  e->config, e->run, worker);
                 });
      // The job stays queued; the next change (a submit, a job ending) tries again.
      if (!s.ok()) break;
    }
  }
}

void JobManagerImpl::RunWorker(std::string id, train::TrainConfig config,
                               std::shared_ptr<RunControl> run, int64_t worker) {
  Outcome o = Train(id, config, run.get());
  Finish(id, run, o);
  std::lock_guard<std::mutex> lock(mu_);
  finished_workers_.push_back(worker);
  --live_workers_;
  workers_cv_.notify_all();
}

JobManagerImpl::Outcome JobManagerImpl::Train(const std::string& id,
                                              const train::TrainConfig& config,
                                              RunControl* run) {
  Outcome o;
  try {
    const std::string dir = JobDir(id);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      o.status = absl::PermissionDeniedError(
          absl::StrCat("cannot create checkpoint folder ", dir, ": ", ec.message()));
      return o;
    }
    absl::StatusOr<std::shared_ptr<const train::TaskData>> data = data_cache_.Get(config);
    if (!data.ok()) {
      o.status = data.status();
      if (absl::IsNotFound(o.status)) {
        o.status = absl::NotFoundError(absl::StrCat(
            o.status.message(), " (the daemon reads datasets from ", config.data_dir,
            "; fetch them with scripts/fetch_data.sh)"));
      }
      return o;
    }
    absl::StatusOr<std::unique_ptr<models::Model>> model = train::BuildModel(config, **data);
    if (!model.ok()) {
      o.status = model.status();
      return o;
    }
    train::Trainer trainer(config, model->get(), (*data)->train.get(), (*data)->valid.get());
    trainer.set_checkpoint_dir(dir);
    if ((*data)->vocab) trainer.set_extra_metadata({{kVocabKey, JoinVocab(*(*data)->vocab)}});
    const std::string latest = LatestCheckpoint(id);
    if (fs::exists(latest, ec)) {
      if (absl::Status s = trainer.Restore(latest); !s.ok()) {
        o.status = absl::Status(s.code(), absl::StrCat("cannot resume from ", latest, ": ",
                                                       s.message()));
        return o;
      }
    }
    Callback callback(this, id, run);
    absl::StatusOr<train::TrainResult> r = trainer.Run(&callback, &run->cancel);
    o.completed_epochs = trainer.completed_epochs();
    if (!callback.persist_error().ok()) {
      o.status = callback.persist_error();
    } else if (!r.ok()) {
      o.status = r.status();
    } else {
      o.cancelled = r->cancelled;
      o.best_valid_accuracy = r->best_valid_accuracy;
      o.best_epoch = r->best_epoch;
    }
  } catch (const Error& e) {
    o.status = absl::InvalidArgumentError(e.what());
  } catch (const std::bad_alloc&) {
    o.status = absl::ResourceExhaustedError("out of memory; try a smaller batch_size");
  } catch (const std::exception& e) {
    o.status = absl::InternalError(e.what());
  }
  return o;
}

void JobManagerImpl::RecordProgress(const std::string& id, const train::BatchProgress& p) {
  std::lock_guard<std::mutex> lock(mu_);
  JobEntry* e = FindLocked(id);
  if (!e) return;
  e->progress.Clear();
  e->progress.set_job_id(id);
  e->progress.set_unix_ms(NowMs());
  v1::BatchProgress* bp = e->progress.mutable_progress();
  bp->set_epoch(p.epoch);
  bp->set_batch(p.batch);
  bp->set_num_batches(p.num_batches);
  bp->set_mean_loss(p.mean_loss);
  e->has_progress = true;
  ++e->progress_version;
  e->cv.notify_all();
}

absl::Status JobManagerImpl::RecordEpoch(const std::string& id, const train::EpochMetrics& m) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  JobEntry* e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    e = FindLocked(id);
  }
  return RecordEpochLocked(e, m);
}

absl::Status JobManagerImpl::RecordEpochLocked(JobEntry* e, const train::EpochMetrics& m) {
  v1::Job job = e->job;
  job.set_epochs_done(m.epoch);
  *job.mutable_last_epoch() = ToProto(m);
  // The trainer's rule, so that job and checkpoint agree on the best epoch.
  if (m.valid_accuracy > job.best_valid_accuracy() || job.best_epoch() == 0) {
    job.set_best_valid_accuracy(m.valid_accuracy);
    job.set_best_epoch(m.epoch);
  }
  v1::JobEvent event;
  *event.mutable_epoch() = ToProto(m);
  return Commit(e, job, e->queue_order, event, /*force=*/false, [&] {
    e->resume_epoch = m.epoch;
    e->has_progress = false;  // the epoch's event supersedes its last batch
  });
}

void JobManagerImpl::Finish(const std::string& id, const std::shared_ptr<RunControl>& run,
                            const Outcome& o) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  JobEntry* e;
  bool user_cancelled, shutting_down;
  int64_t epoch_in_progress;
  {
    std::lock_guard<std::mutex> lock(mu_);
    e = FindLocked(id);
    user_cancelled = run->user_cancelled;
    shutting_down = shutting_down_;
    epoch_in_progress = e->has_progress ? e->progress.progress().epoch() : 0;
  }
  v1::Job job = e->job;
  std::string message;
  if (!o.status.ok()) {
    job.set_state(v1::FAILED);
    job.set_error(std::string(o.status.message()));
    message = job.error();
  } else if (o.cancelled) {
    const std::string during =
        epoch_in_progress > 0 ? absl::StrCat(" during epoch ", epoch_in_progress) : "";
    if (user_cancelled || !shutting_down) {
      job.set_state(v1::CANCELLED);
      message = absl::StrCat("cancelled", during, " (", CheckpointPhrase(o.completed_epochs), ")");
    } else {
      job.set_state(v1::INTERRUPTED);
      message = absl::StrCat("the daemon is shutting down: stopped", during, " (",
                             CheckpointPhrase(o.completed_epochs),
                             "); ResumeJob continues from there");
    }
  } else {
    job.set_state(v1::SUCCEEDED);
    message = absl::StrCat("finished ", o.completed_epochs,
                           o.completed_epochs == 1 ? " epoch" : " epochs", "; best valid accuracy ",
                           Percent(o.best_valid_accuracy), " at epoch ", o.best_epoch);
  }
  const std::string device = job.device();
  Commit(e, job, e->queue_order, StateEvent(job.state(), message, /*terminal=*/true),
         /*force=*/true, [&] {
           --devices_[device].running;
           e->run.reset();
           e->has_progress = false;
           // A run that failed before restoring knows no epoch; the checkpoint still exists.
           e->resume_epoch = std::max(e->resume_epoch, o.completed_epochs);
         })
      .IgnoreError();  // logged by Commit; the job has left RUNNING in memory either way
  ScheduleLocked();
}

void JobManagerImpl::Shutdown() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (shutting_down_) {
      workers_cv_.wait(lock, [&] { return stopped_; });
      return;
    }
    shutting_down_ = true;
    for (auto& [id, e] : jobs_) {
      if (e->run) e->run->cancel = true;
      e->cv.notify_all();
    }
    workers_cv_.wait(lock, [&] { return live_workers_ == 0; });
  }
  {
    std::lock_guard<std::mutex> wlock(write_mu_);
    ReapWorkersLocked();
  }
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  for (auto& [id, e] : jobs_) e->cv.notify_all();
  workers_cv_.notify_all();
}

// ---------------------------------------------------------------------------------------------
// Inference from checkpoints.

absl::StatusOr<io::TensorFile> JobManagerImpl::ReadLatestCheckpoint(
    const std::string& job_id) const {
  const std::string path = LatestCheckpoint(job_id);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no checkpoint yet: job ", job_id, " has not finished an epoch"));
  }
  return io::ReadSafetensors(path);
}

absl::StatusOr<LoadedModel> JobManagerImpl::LoadModel(const std::string& job_id) {
  LoadedModel m;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const JobEntry* e = FindLocked(job_id);
    if (!e) return NoSuchJob(job_id);
    m.config = e->config;
  }
  absl::StatusOr<io::TensorFile> file = ReadLatestCheckpoint(job_id);
  if (!file.ok()) return file.status();
  train::TaskData shell;  // BuildModel only needs the vocabulary from it
  if (m.config.task == "sst2") {
    absl::StatusOr<std::shared_ptr<data::Vocab>> vocab = VocabFromMetadata(*file, LatestCheckpoint(job_id));
    if (!vocab.ok()) return vocab.status();
    m.vocab = *vocab;
    shell.vocab = m.vocab;
  }
  // The checkpoint's weights replace whatever the embeddings file would have provided.
  train::TrainConfig build = m.config;
  build.embeddings_path.clear();
  build.freeze_embeddings = false;
  absl::StatusOr<std::unique_ptr<models::Model>> model = train::BuildModel(build, shell);
  if (!model.ok()) return model.status();
  if (absl::Status s = train::LoadWeights(*file, model->get()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(LatestCheckpoint(job_id), ": ", s.message()));
  }
  m.model = std::move(*model);
  m.model->Eval();
  auto it = file->metadata.find("mt.epoch");
  if (it != file->metadata.end()) (void)absl::SimpleAtoi(it->second, &m.epoch);
  return m;
}

absl::StatusOr<PreparedInput> JobManagerImpl::PrepareInput(const std::string& job_id,
                                                           const LoadedModel& m,
                                                           const ModelInput& in) {
  const std::string& task = m.config.task;
  PreparedInput out;
  switch (in.kind) {
    case ModelInput::Kind::kValidIndex: {
      if (task == "mnist") {
        absl::StatusOr<std::shared_ptr<const train::TaskData>> data = data_cache_.Get(m.config);
        if (!data.ok()) return data.status();
        const train::Dataset& valid = *(*data)->valid;
        if (in.valid_index < 0 || in.valid_index >= valid.size()) {
          return absl::OutOfRangeError(absl::StrCat(
              "valid_index ", in.valid_index, " is out of range: job ", job_id,
              "'s held-out split (MNIST test) has ", valid.size(), " examples (0..",
              valid.size() - 1, ")"));
        }
        train::Batch b = valid.Get(&in.valid_index, 1);
        out.input = b.input;
        out.label = b.target.ToInt64Vector()[0];
        return out;
      }
      // SST-2: only the dev split is needed; the vocabulary is the checkpoint's.
      absl::StatusOr<std::vector<data::SentenceExample>> dev =
          data::LoadSst2(m.config.data_dir, data::Sst2Split::kDev);
      if (!dev.ok()) return dev.status();
      int64_t n = static_cast<int64_t>(dev->size());
      if (m.config.valid_size > 0) n = std::min(n, m.config.valid_size);
      if (in.valid_index < 0 || in.valid_index >= n) {
        return absl::OutOfRangeError(absl::StrCat(
            "valid_index ", in.valid_index, " is out of range: job ", job_id,
            "'s held-out split (SST-2 dev) has ", n, " examples (0..", n - 1, ")"));
      }
      std::vector<data::EncodedExample> ex =
          data::EncodeExamples(*m.vocab, {(*dev)[static_cast<size_t>(in.valid_index)]});
      const int64_t zero = 0;
      data::TokenBatch tb = data::MakeTokenBatch(ex, &zero, 1, train::kSst2MinLength);
      out.input = Tensor::FromInt64(tb.ids, {tb.batch_size, tb.max_len});
      out.label = tb.labels[0];
      return out;
    }
    case ModelInput::Kind::kImagePng: {
      if (task != "mnist") {
        return absl::InvalidArgumentError(absl::StrCat("image_png input is for mnist jobs; job ",
                                                       job_id, " is ", task, " (send text)"));
      }
      absl::StatusOr<GrayImage> img = DecodePngToGray(in.image_png, 28, 28);
      if (!img.ok()) {
        return absl::Status(img.status().code(),
                            absl::StrCat(img.status().message(),
                                         " (mnist models take 28x28 images, white ink on black)"));
      }
      data::MnistSplit one;
      one.count = 1;
      one.rows = one.cols = 28;
      one.pixels = std::move(img->pixels);
      one.labels = {0};
      const int64_t zero = 0;
      out.input = Tensor::Empty({1, 1, 28, 28});
      data::NormalizeImages(one, &zero, 1, out.input.data<float>());
      return out;
    }
    case ModelInput::Kind::kText: {
      if (task != "sst2") {
        return absl::InvalidArgumentError(absl::StrCat("text input is for sst2 jobs; job ",
                                                       job_id, " is ", task,
                                                       " (send image_png or valid_index)"));
      }
      std::vector<int64_t> ids = m.vocab->Encode(in.text);
      if (ids.empty()) return absl::InvalidArgumentError("text has no words");
      std::vector<data::EncodedExample> ex(1);
      ex[0].ids = std::move(ids);
      const int64_t zero = 0;
      data::TokenBatch tb = data::MakeTokenBatch(ex, &zero, 1, train::kSst2MinLength);
      out.input = Tensor::FromInt64(tb.ids, {tb.batch_size, tb.max_len});
      return out;
    }
  }
  return absl::InvalidArgumentError("unknown input kind");
}

absl::StatusOr<Tensor> JobManagerImpl::Forward(LoadedModel& m, const Tensor& input,
                                               models::Activations* acts) {
  try {
    NoGradGuard no_grad;
    return m.model->Forward(input, acts);
  } catch (const Error& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while running the model");
  }
}

absl::StatusOr<ActivationsResult> JobManagerImpl::Activations(const std::string& job_id,
                                                              const ModelInput& input) {
  absl::StatusOr<LoadedModel> m = LoadModel(job_id);
  if (!m.ok()) return m.status();
  absl::StatusOr<PreparedInput> in = PrepareInput(job_id, *m, input);
  if (!in.ok()) return in.status();
  models::Activations acts;
  absl::StatusOr<Tensor> out = Forward(*m, in->input, &acts);
  if (!out.ok()) return out.status();
  ActivationsResult r;
  r.label = in->label;
  for (auto& [name, t] : acts) {
    mt::server::Activation a;
    a.layer = name;
    a.shape = t.shape();
    std::vector<double> v = t.ToVector();
    a.data.assign(v.begin(), v.end());
    r.layers.push_back(std::move(a));
  }
  return r;
}

absl::StatusOr<v1::PredictResponse> JobManagerImpl::Predict(const std::string& job_id,
                                                            const ModelInput& input) {
  absl::StatusOr<LoadedModel> m = LoadModel(job_id);
  if (!m.ok()) return m.status();
  absl::StatusOr<PreparedInput> in = PrepareInput(job_id, *m, input);
  if (!in.ok()) return in.status();
  absl::StatusOr<Tensor> log_probs = Forward(*m, in->input, nullptr);
  if (!log_probs.ok()) return log_probs.status();
  std::vector<double> lp = log_probs->ToVector();
  v1::PredictResponse r;
  int64_t best = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    r.add_probabilities(std::exp(lp[i]));
    if (lp[i] > lp[static_cast<size_t>(best)]) best = static_cast<int64_t>(i);
  }
  r.set_predicted_class(best);
  r.set_label(in->label);
  r.set_checkpoint_epoch(m->epoch);
  return r;
}

absl::StatusOr<std::string> JobManagerImpl::Export(const std::string& job_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!FindLocked(job_id)) return NoSuchJob(job_id);
  }
  absl::StatusOr<io::TensorFile> file = ReadLatestCheckpoint(job_id);
  if (!file.ok()) return file.status();
  io::TensorFile out;
  for (auto& [name, t] : file->tensors) {
    if (name.rfind("optim.", 0) != 0) out.tensors.emplace_back(name, t);
  }
  // What describes the model; optimiser steps and RNG states only matter for resuming.
  for (const char* key : {"format", "mt.task", "mt.model", "mt.config", "mt.epoch", kVocabKey}) {
    auto it = file->metadata.find(key);
    if (it != file->metadata.end()) out.metadata[key] = it->second;
  }
  out.metadata["format"] = "pt";
  return io::EncodeSafetensors(out);
}

}  // namespace

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Create(const Options& options) {
  auto manager = std::make_unique<JobManagerImpl>(options);
  if (absl::Status s = manager->Init(); !s.ok()) return s;
  return std::unique_ptr<JobManager>(std::move(manager));
}

}  // namespace mt::server
