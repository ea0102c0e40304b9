// The jobs' history and current rows: the SQLite log (store.h) and, in memory, the job table
// that readers see. Every state change and every finished epoch is an event with a per-job
// sequence number (1, 2, 3, ... without gaps), written to SQLite before it is visible; watchers
// wait on a condition variable per job and wake as soon as an event, a batch progress or the
// shutdown arrives (no polling).
//
// Locking. Two mutexes, always taken in this order:
//   append_mu_  serialises appends, and is held across the SQLite transaction, so events reach
//               the database in seq order and the database never disagrees with memory about
//               what the next seq is.
//   mu_         guards the in-memory table and is held only for memory updates, never across
//               disk I/O, so a slow fsync never blocks a reader or wakes a watcher late.
// Callers that keep state which must change together with a job's row (the scheduler's queues,
// the running jobs) pass an `apply` function, run under mu_ as the row changes, and read that
// state under Locked().
#ifndef MT_SERVER_JOB_LOG_H_
#define MT_SERVER_JOB_LOG_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/training.pb.h"
#include "server/store.h"

namespace mt::server {

// What a Watch call returns each time it wakes.
struct WatchBatch {
  std::vector<v1::JobEvent> events;  // persisted events with seq >= from_seq, in order
  // A batch-progress event (not persisted, never replayed; its seq is the last persisted seq)
  // when one newer than the caller's progress_version exists.
  bool has_progress = false;
  v1::JobEvent progress;
  int64_t progress_version = 0;
  // True when no more events will come on this stream: the job is in a terminal state and
  // every event up to it has been returned, or the daemon is shutting down (then `events`
  // ends with a non-persisted terminal event saying so), or the job's end could not be
  // written to the database (then `events` ends with a non-persisted notice; see Append).
  bool finished = false;
};

class JobLog {
 public:
  using Apply = std::function<void()>;

  // Opens (or creates) the database at `db_path`; see Store::Open for the errors.
  static absl::StatusOr<std::unique_ptr<JobLog>> Open(const std::string& db_path);

  // Reads every job and its events into memory; call once, before anything else. Returns the
  // rows, oldest first (each job's last_seq taken from its log).
  absl::StatusOr<std::vector<StoredJob>> Load();

  // A new job id, "job-000042", from a counter in the database (never the same one twice for
  // this database), skipping ids for which `taken` is true.
  absl::StatusOr<std::string> NewJobId(const std::function<bool(const std::string&)>& taken);

  // Records a new job with its first event (seq 1), then makes it visible and runs `apply`.
  absl::Status Insert(const v1::Job& job, int64_t queue_order, v1::JobEvent first,
                      const Apply& apply = nullptr);

  // Appends `event` (seq, job_id and time assigned here) to the job's log together with the
  // job's new row `job`, then, under mu_, makes both visible, runs `apply` and wakes the job's
  // watchers. The write error, if any, is returned; without `force` nothing changes then.
  //
  // `force` is for transitions that must not be lost from view, such as a job leaving RUNNING.
  // When the database refuses the write (a full disk), what watchers see is still only what
  // the database will hold after a restart:
  //   - the event is NOT added to the log and its seq is not used (the next event gets it);
  //   - the row changes, with one exception: a job leaving RUNNING shows INTERRUPTED (not e.g.
  //     FAILED), because the database still says RUNNING and recovery records INTERRUPTED at
  //     the next start; its error says what happened and that it was not recorded;
  //   - `apply` runs and watchers wake; a stream that ends there ends with a notice: a
  //     terminal state event with that state, the seq of the last recorded event (like the
  //     shutdown notice, it is never persisted) and a message with the original message, the
  //     write error ("... no space left on device") and what happens after a restart.
  // So a follower's persisted events (those with a seq above the previous one) equal the
  // stored log after a restart, and the state the notice shows is the stored final state.
  // The next successful append supersedes the notice.
  absl::Status Append(v1::Job job, int64_t queue_order, v1::JobEvent event, bool force,
                      const Apply& apply = nullptr);

  // The job's row as last appended, and its queue order. NotFound for an unknown job.
  absl::StatusOr<StoredJob> Row(const std::string& job_id) const;

  // Runs `f` with mu_ held; `f` may call the *Locked accessors below and nothing else here.
  void Locked(const std::function<void()>& f) const;
  const v1::Job* FindLocked(const std::string& job_id) const;
  // Every job, newest first.
  std::vector<const v1::Job*> NewestFirstLocked() const;
  // The job's latest batch progress; null when there is none.
  const v1::BatchProgress* ProgressLocked(const std::string& job_id) const;
  // The epoch of the job's latest batch progress; 0 when there is none.
  int64_t ProgressEpochLocked(const std::string& job_id) const;
  // Drops the job's batch progress (an epoch's event or the job's end supersedes it).
  void ClearProgressLocked(const std::string& job_id);
  bool ShuttingDownLocked() const { return shutting_down_; }
  bool ShuttingDown() const;  // takes mu_

  // Publishes a batch progress (not persisted) and wakes the job's watchers.
  void SetProgress(const std::string& job_id, const v1::BatchProgress& progress);

  // Removes a job from the database and from view (Row, FindLocked and the lists no longer
  // show it). The caller has checked that the job is finished, so no run will append to it and
  // its watchers have had their terminal event. NotFound for an unknown job.
  absl::Status Remove(const std::string& job_id);

  // Blocks until `done(job)` holds for the job's row (checked at every change of the job), or
  // until `deadline` (time_point::max(): none); false at the deadline.
  bool WaitUntil(const std::string& job_id, const std::function<bool(const v1::Job&)>& done,
                 std::chrono::steady_clock::time_point deadline =
                     std::chrono::steady_clock::time_point::max());

  // Waits until `deadline` for events with seq >= from_seq (or a progress newer than
  // progress_version, when follow) and returns them; returns at once when there are some.
  // NotFound for an unknown job; InvalidArgument for from_seq < 1 or beyond last_seq + 1. When
  // !follow, never waits and finished is true after the replay.
  absl::StatusOr<WatchBatch> Watch(const std::string& job_id, int64_t from_seq, bool follow,
                                   int64_t progress_version,
                                   std::chrono::steady_clock::time_point deadline);

  // Shutdown has begun: runs `apply` under mu_ and wakes every watcher. Watchers of jobs that
  // are not RUNNING get a closing event at once; those of RUNNING jobs wait for the job's own
  // terminal event, or for MarkStopped().
  void BeginShutdown(const Apply& apply);
  // Every job has stopped: wakes every watcher for the last time.
  void MarkStopped();

  static absl::Status NoSuchJob(const std::string& job_id);

 private:
  struct Entry {
    v1::Job job;
    int64_t queue_order = 0;
    std::vector<v1::JobEvent> events;  // persisted events, seq ascending
    // The latest batch progress (never persisted); progress_version only grows, across runs.
    bool has_progress = false;
    v1::JobEvent progress;
    int64_t progress_version = 0;
    // The notice for a forced append that could not be recorded (see Append); cleared by the
    // next recorded event.
    bool has_unrecorded = false;
    v1::JobEvent unrecorded;
    // Signalled on every new event, progress, state change and shutdown.
    std::condition_variable cv;
  };

  explicit JobLog(std::unique_ptr<Store> store) : store_(std::move(store)) {}
  Entry* FindEntryLocked(const std::string& job_id) const;

  std::unique_ptr<Store> store_;
  std::mutex append_mu_;
  mutable std::mutex mu_;
  // Guarded by mu_; a job's row changes only with append_mu_ held too. Entries are never
  // freed, so pointers to them stay valid: Remove moves a deleted job's entry to removed_.
  std::map<std::string, std::unique_ptr<Entry>> jobs_;
  std::vector<std::string> creation_order_;
  std::vector<std::unique_ptr<Entry>> removed_;
  bool shutting_down_ = false;
  bool stopped_ = false;
};

// Helpers for building events and rows.
int64_t NowMs();
bool IsTerminal(v1::JobState state);
v1::JobEvent StateEvent(v1::JobState state, const std::string& message, bool terminal);
// `job` after a finished epoch: epochs_done, last_epoch, and the best epoch by the trainer's
// rule (so that job and checkpoint agree on it).
v1::Job JobAfterEpoch(v1::Job job, const v1::EpochMetrics& m);

}  // namespace mt::server

#endif  // MT_SERVER_JOB_LOG_H_
