// The daemon's durable state in one SQLite database (Debian's libsqlite3): every job's row and
// every job's event log. A job's history must survive a restart or a kill -9 (users lost theirs
// with Ray), so the database runs in WAL mode with synchronous=FULL and each change is one
// transaction: when a call returns OK the change is on disk.
//
// Schema (user_version 1):
//   meta(key TEXT PRIMARY KEY, value INTEGER)      -- 'next_job_number'
//   jobs(id TEXT PRIMARY KEY, state INTEGER, queue_order INTEGER,
//        created_unix_ms INTEGER, updated_unix_ms INTEGER, job BLOB)
//        -- job: a serialized mt.v1.Job (spec with defaults filled in); rowid = creation order
//   events(job_id TEXT, seq INTEGER, unix_ms INTEGER, event BLOB, PRIMARY KEY (job_id, seq))
//        -- event: a serialized mt.v1.JobEvent; seq from 1 without gaps per job
//
// Thread-safe: one connection, serialised by a mutex.
#ifndef MT_SERVER_STORE_H_
#define MT_SERVER_STORE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/training.pb.h"

struct sqlite3;

namespace mt::server {

struct StoredJob {
  v1::Job job;
  // Position in its device's FIFO queue while QUEUED (increasing with time), so that queued jobs
  // are queued again in the same order after a restart, even those resumed after newer ones.
  int64_t queue_order = 0;
};

class Store {
 public:
  // Opens or creates the database at `path` (its folder must exist). Errors name the path:
  // FailedPrecondition when the file is not a database of this program or is from a newer one,
  // DataLoss when it is damaged, Unavailable when another process holds it locked.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }

  // Reserves a job number; never returns the same one twice for this database.
  absl::StatusOr<int64_t> NextJobNumber();

  // Inserts a new job together with its first event (AlreadyExists if the id is taken).
  absl::Status InsertJob(const StoredJob& job, const v1::JobEvent& first_event);

  // Appends `event` to its job's log and stores the job's new row, in one transaction.
  // AlreadyExists if the job already has an event with that seq; NotFound for an unknown job.
  absl::Status AppendEvent(const StoredJob& job, const v1::JobEvent& event);

  // Every job, oldest first.
  absl::StatusOr<std::vector<StoredJob>> LoadJobs();

  // Removes a job's row and all its events, in one transaction. NotFound for an unknown job.
  absl::Status DeleteJob(const std::string& job_id);

  // A job's events with seq >= from_seq, in order.
  absl::StatusOr<std::vector<v1::JobEvent>> LoadEvents(const std::string& job_id,
                                                       int64_t from_seq = 1);

 private:
  Store(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  // Runs `sql` (no results), for pragmas and schema statements.
  absl::Status Exec(const char* sql, const char* what);
  // A Status for SQLite result `rc` while doing `what`, with SQLite's message (or `why`, the
  // message taken when the failure happened) and the OS cause; ResourceExhausted "... no space
  // left on device" when the file system is full.
  absl::Status Error(int rc, const std::string& what) const;
  absl::Status Error(int rc, const std::string& what, const std::string& why) const;
  absl::Status UpdateJobLocked(const StoredJob& job);

  const std::string path_;
  sqlite3* db_;
  std::mutex mu_;
};

}  // namespace mt::server

#endif  // MT_SERVER_STORE_H_
