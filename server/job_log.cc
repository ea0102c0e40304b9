#include "server/job_log.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mt::server {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsTerminal(v1::JobState s) {
  return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED || s == v1::INTERRUPTED;
}

v1::JobEvent StateEvent(v1::JobState state, const std::string& message, bool terminal) {
  v1::JobEvent e;
  e.mutable_state()->set_state(state);
  e.mutable_state()->set_message(message);
  e.set_terminal(terminal);
  return e;
}

v1::Job JobAfterEpoch(v1::Job job, const v1::EpochMetrics& m) {
  job.set_epochs_done(m.epoch());
  *job.mutable_last_epoch() = m;
  if (m.valid_accuracy() > job.best_valid_accuracy() || job.best_epoch() == 0) {
    job.set_best_valid_accuracy(m.valid_accuracy());
    job.set_best_epoch(m.epoch());
  }
  return job;
}

absl::Status JobLog::NoSuchJob(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("no job '", id, "' (`mt-client list` shows every job)"));
}

absl::StatusOr<std::unique_ptr<JobLog>> JobLog::Open(const std::string& db_path) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(db_path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<JobLog>(new JobLog(std::move(*store)));
}

absl::StatusOr<std::vector<StoredJob>> JobLog::Load() {
  absl::StatusOr<std::vector<StoredJob>> rows = store_->LoadJobs();
  if (!rows.ok()) return rows.status();
  std::lock_guard<std::mutex> alock(append_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  for (StoredJob& row : *rows) {
    const std::string id = row.job.id();
    absl::StatusOr<std::vector<v1::JobEvent>> events = store_->LoadEvents(id);
    if (!events.ok()) return events.status();
    // Both are written in one transaction; trust the log if they ever disagree.
    row.job.set_last_seq(events->empty() ? 0 : events->back().seq());
    auto e = std::make_unique<Entry>();
    e->events = std::move(*events);
    e->job = row.job;
    e->queue_order = row.queue_order;
    jobs_[id] = std::move(e);
    creation_order_.push_back(id);
  }
  return rows;
}

absl::StatusOr<std::string> JobLog::NewJobId(
    const std::function<bool(const std::string&)>& taken) {
  for (;;) {
    absl::StatusOr<int64_t> number = store_->NextJobNumber();
    if (!number.ok()) return number.status();
    std::string id = absl::StrFormat("job-%06d", *number);
    if (!taken || !taken(id)) return id;
  }
}

JobLog::Entry* JobLog::FindEntryLocked(const std::string& id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.get();
}

absl::Status JobLog::Insert(const v1::Job& job, int64_t queue_order, v1::JobEvent first,
                            const Apply& apply) {
  std::lock_guard<std::mutex> alock(append_mu_);
  first.set_job_id(job.id());
  first.set_seq(1);
  if (absl::Status s = store_->InsertJob(StoredJob{job, queue_order}, first); !s.ok()) return s;
  auto e = std::make_unique<Entry>();
  e->job = job;
  e->job.set_last_seq(1);
  e->queue_order = queue_order;
  e->events.push_back(std::move(first));
  std::lock_guard<std::mutex> lock(mu_);
  jobs_[job.id()] = std::move(e);
  creation_order_.push_back(job.id());
  if (apply) apply();
  return absl::OkStatus();
}

absl::Status JobLog::Append(v1::Job job, int64_t queue_order, v1::JobEvent event, bool force,
                            const Apply& apply) {
  std::lock_guard<std::mutex> alock(append_mu_);
  Entry* e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    e = FindEntryLocked(job.id());
  }
  if (!e) return NoSuchJob(job.id());
  const int64_t now = NowMs();
  event.set_job_id(job.id());
  event.set_seq(e->job.last_seq() + 1);  // the row changes only under append_mu_
  event.set_unix_ms(now);
  job.set_last_seq(event.seq());
  job.set_updated_unix_ms(now);
  job.clear_waiting_reason();
  absl::Status s = store_->AppendEvent(StoredJob{job, queue_order}, event);
  if (!s.ok()) {
    std::fprintf(stderr, "mt: job %s: cannot record event %lld: %s\n", job.id().c_str(),
                 static_cast<long long>(event.seq()), std::string(s.message()).c_str());
    if (!force) return s;
    // Nothing the database lacks is shown as recorded: the event is not added to the log and
    // the seq is not used. The row shows the state the job will have after a restart, and
    // watchers get a notice (not persisted, like the shutdown notice) saying so.
    std::lock_guard<std::mutex> lock(mu_);
    const bool was_running = e->job.state() == v1::RUNNING;
    const std::string what = event.has_state() ? event.state().message() : std::string();
    job.set_last_seq(e->job.last_seq());
    if (was_running && job.state() != v1::RUNNING) {
      // The database still says RUNNING, and recovery turns that into INTERRUPTED.
      job.set_state(v1::INTERRUPTED);
    }
    const std::string notice = absl::StrCat(
        what.empty() ? "" : absl::StrCat(what, "; "), "this could not be recorded (",
        s.message(), ")",
        was_running ? absl::StrCat("; the job stopped and is recorded as INTERRUPTED when the "
                                   "daemon restarts; `mt-client resume ",
                                   job.id(), "` continues from its last checkpoint")
                    : std::string());
    if (job.state() == v1::FAILED || job.state() == v1::INTERRUPTED) job.set_error(notice);
    v1::JobEvent unrecorded = StateEvent(job.state(), notice, event.terminal());
    unrecorded.set_job_id(job.id());
    unrecorded.set_seq(job.last_seq());
    unrecorded.set_unix_ms(now);
    e->job = std::move(job);
    e->queue_order = queue_order;
    e->unrecorded = std::move(unrecorded);
    e->has_unrecorded = true;
    if (apply) apply();
    e->cv.notify_all();
    return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  e->job = std::move(job);
  e->queue_order = queue_order;
  e->events.push_back(std::move(event));
  e->has_unrecorded = false;  // a recorded event supersedes the notice
  if (apply) apply();
  e->cv.notify_all();
  return s;
}

absl::StatusOr<StoredJob> JobLog::Row(const std::string& job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Entry* e = FindEntryLocked(job_id);
  if (!e) return NoSuchJob(job_id);
  return StoredJob{e->job, e->queue_order};
}

void JobLog::Locked(const std::function<void()>& f) const {
  std::lock_guard<std::mutex> lock(mu_);
  f();
}

const v1::Job* JobLog::FindLocked(const std::string& job_id) const {
  const Entry* e = FindEntryLocked(job_id);
  return e ? &e->job : nullptr;
}

std::vector<const v1::Job*> JobLog::NewestFirstLocked() const {
  std::vector<const v1::Job*> out;
  for (auto it = creation_order_.rbegin(); it != creation_order_.rend(); ++it) {
    out.push_back(&jobs_.at(*it)->job);
  }
  return out;
}

int64_t JobLog::ProgressEpochLocked(const std::string& job_id) const {
  const Entry* e = FindEntryLocked(job_id);
  return e && e->has_progress ? e->progress.progress().epoch() : 0;
}

const v1::BatchProgress* JobLog::ProgressLocked(const std::string& job_id) const {
  const Entry* e = FindEntryLocked(job_id);
  return e && e->has_progress ? &e->progress.progress() : nullptr;
}

absl::Status JobLog::Remove(const std::string& job_id) {
  std::lock_guard<std::mutex> alock(append_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!FindEntryLocked(job_id)) return NoSuchJob(job_id);
  }
  if (absl::Status s = store_->DeleteJob(job_id); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  // A waiter that still holds the entry (WaitUntil) wakes and finds it unchanged.
  it->second->cv.notify_all();
  removed_.push_back(std::move(it->second));
  jobs_.erase(it);
  creation_order_.erase(std::remove(creation_order_.begin(), creation_order_.end(), job_id),
                        creation_order_.end());
  return absl::OkStatus();
}

void JobLog::ClearProgressLocked(const std::string& job_id) {
  if (Entry* e = FindEntryLocked(job_id)) e->has_progress = false;
}

void JobLog::SetProgress(const std::string& job_id, const v1::BatchProgress& progress) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = FindEntryLocked(job_id);
  if (!e) return;
  e->progress.Clear();
  e->progress.set_job_id(job_id);
  e->progress.set_unix_ms(NowMs());
  *e->progress.mutable_progress() = progress;
  e->has_progress = true;
  ++e->progress_version;
  e->cv.notify_all();
}

bool JobLog::WaitUntil(const std::string& job_id,
                       const std::function<bool(const v1::Job&)>& done,
                       std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  Entry* e = FindEntryLocked(job_id);
  if (!e) return false;
  // No deadline: a plain wait, since waiting until time_point::max() may overflow inside the
  // library's clock conversion.
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    e->cv.wait(lock, [&] { return done(e->job); });
    return true;
  }
  return e->cv.wait_until(lock, deadline, [&] { return done(e->job); });
}

absl::StatusOr<WatchBatch> JobLog::Watch(const std::string& job_id, int64_t from_seq,
                                         bool follow, int64_t progress_version,
                                         std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  Entry* e = FindEntryLocked(job_id);
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
    // Find by sequence number, not position (seqs are 1, 2, 3, ... but a log read from an
    // older database may have a gap where a forced append once failed).
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
      // A job whose end could not be recorded: its stream ends with the notice that says so
      // (seq: the last recorded event's, like the shutdown notice).
      if (terminal && e->has_unrecorded && e->unrecorded.terminal()) {
        b.events.push_back(e->unrecorded);
      }
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
                       v1::JobState_Name(e->job.state()),
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
    // After the deadline the loop takes one last look, so that an event that raced it is not
    // left for the next call.
    timed_out = e->cv.wait_until(lock, deadline) == std::cv_status::timeout;
  }
}

void JobLog::BeginShutdown(const Apply& apply) {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  if (apply) apply();
  for (auto& [id, e] : jobs_) e->cv.notify_all();
}

bool JobLog::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

void JobLog::MarkStopped() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  for (auto& [id, e] : jobs_) e->cv.notify_all();
}

}  // namespace mt::server
