#include "server/store.h"

#include <sqlite3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mt::server {
namespace {

constexpr int kSchemaVersion = 1;
// How long a statement waits for a lock held by another connection (e.g. the sqlite3 shell
// reading the database) before giving up with Unavailable.
constexpr int kBusyTimeoutMs = 10000;

absl::StatusCode CodeFor(int rc) {
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return absl::StatusCode::kNotFound;
  switch (rc & 0xff) {  // the primary code; extended codes keep it in the low byte
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_CORRUPT:
      return absl::StatusCode::kDataLoss;
    case SQLITE_NOTADB:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return absl::StatusCode::kPermissionDenied;
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kAlreadyExists;
    default:
      return absl::StatusCode::kInternal;
  }
}

// Whether the last failure of `db` (result `rc`) was the file system running out of space.
bool OutOfSpace(sqlite3* db, int rc) {
  if ((rc & 0xff) == SQLITE_FULL) return true;
  const int e = sqlite3_system_errno(db);
  return ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN) &&
         (e == ENOSPC || e == EDQUOT);
}

// The text of the last failure of `db`, read at once (a later statement replaces it), with the
// operating system's cause where SQLite's own words hide it: SQLITE_FULL reads "database or
// disk is full", an I/O error "disk I/O error".
std::string ErrorText(sqlite3* db, int rc) {
  std::string text = sqlite3_errmsg(db);
  if (OutOfSpace(db, rc)) {
    absl::StrAppend(&text, " (no space left on device)");
  } else if (int e = sqlite3_system_errno(db);
             e != 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN)) {
    absl::StrAppend(&text, " (", std::strerror(e), ")");
  }
  return text;
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  int prepare_rc() const { return rc_; }
  sqlite3_stmt* get() { return stmt_; }

  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  int Step() { return sqlite3_step(stmt_); }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }
  std::string Blob(int col) {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless committed, so a failed step leaves no half of
// a change behind.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    rc_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  }
  ~Transaction() {
    if (rc_ == SQLITE_OK && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  int begin_rc() const { return rc_; }
  // On failure, `why` gets the COMMIT's own error, taken before the ROLLBACK that follows it
  // (whose "cannot rollback - no transaction is active" would otherwise replace it).
  int Commit(std::string* why) {
    done_ = true;
    int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      *why = ErrorText(db_, rc);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    return rc;
  }

 private:
  sqlite3* db_;
  int rc_;
  bool done_ = false;
};

}  // namespace

absl::Status Store::Error(int rc, const std::string& what) const {
  return Error(rc, what, ErrorText(db_, rc));
}

absl::Status Store::Error(int rc, const std::string& what, const std::string& why) const {
  // Out of space is ResourceExhausted whichever way SQLite reports it (SQLITE_FULL, or an I/O
  // error whose cause was ENOSPC), so that callers can tell it from damage.
  const absl::StatusCode code =
      OutOfSpace(db_, rc) ? absl::StatusCode::kResourceExhausted : CodeFor(rc);
  return absl::Status(code, absl::StrCat("database ", path_, ": ", what, ": ", why,
                                         " (sqlite code ", rc, ")"));
}

namespace {
// Opens `path` and puts it in WAL mode. `exclusive`: first take the database's lock for this
// connection alone (locking_mode=EXCLUSIVE), which keeps WAL's shared-memory index in the heap
// instead of the -shm file beside the database.
absl::StatusOr<sqlite3*> OpenWal(const std::string& path, bool exclusive, int* failed_rc,
                                 std::string* why) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? ErrorText(db, rc) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::Status(rc == SQLITE_CANTOPEN ? absl::StatusCode::kFailedPrecondition
                                              : CodeFor(rc),
                        absl::StrCat("cannot open database ", path, ": ", msg));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (exclusive) sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE", nullptr, nullptr, nullptr);
  // journal_mode answers with the mode in force, which stays "delete" where WAL is impossible
  // (e.g. some network file systems); a silent fallback would change durability, so refuse.
  std::string mode;
  {
    Stmt wal(db, "PRAGMA journal_mode=WAL");
    rc = wal.prepare_rc() == SQLITE_OK ? wal.Step() : wal.prepare_rc();
    if (rc == SQLITE_ROW) mode = wal.Text(0);
  }
  if (rc != SQLITE_ROW) {
    *failed_rc = rc;
    *why = ErrorText(db, rc);
    const bool out_of_space = OutOfSpace(db, rc);
    sqlite3_close(db);
    return absl::Status(out_of_space ? absl::StatusCode::kResourceExhausted : CodeFor(rc),
                        absl::StrCat("database ", path, ": ",
                                     out_of_space ? "cannot set up WAL journaling"
                                                  : "not an SQLite database or unreadable",
                                     ": ", *why, " (sqlite code ", rc, ")"));
  }
  if (mode != "wal") {
    sqlite3_close(db);
    return absl::FailedPreconditionError(
        absl::StrCat("database ", path, ": cannot use WAL journaling (got '", mode,
                     "'); put the state directory on a local file system"));
  }
  return db;
}
}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  int rc = SQLITE_OK;
  std::string why;
  absl::StatusOr<sqlite3*> opened = OpenWal(path, /*exclusive=*/false, &rc, &why);
  if (!opened.ok() && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL)) {
    // On a full disk WAL mode cannot create its -shm index file, and without it nothing can be
    // read. The daemon still starts and serves reads: with the lock held exclusively the index
    // lives in memory. Writes fail with "no space left on device" until space is freed; other
    // processes (the sqlite3 shell) cannot read the database while this daemon runs.
    absl::StatusOr<sqlite3*> again = OpenWal(path, /*exclusive=*/true, &rc, &why);
    if (again.ok()) {
      std::fprintf(stderr,
                   "mt: %s; opened for this process alone (reads work, writes fail until "
                   "space is freed)\n",
                   std::string(opened.status().message()).c_str());
    }
    opened = std::move(again);
  }
  if (!opened.ok()) return opened.status();
  sqlite3* db = *opened;
  std::unique_ptr<Store> store(new Store(path, db));

  if (absl::Status s = store->Exec("PRAGMA synchronous=FULL", "setting synchronous=FULL");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = store->Exec("PRAGMA foreign_keys=ON", "enabling foreign keys"); !s.ok()) {
    return s;
  }

  int64_t version = 0;
  {
    Stmt v(db, "PRAGMA user_version");
    if (v.prepare_rc() != SQLITE_OK || (rc = v.Step()) != SQLITE_ROW) {
      return store->Error(v.prepare_rc() != SQLITE_OK ? v.prepare_rc() : rc,
                          "reading the schema version");
    }
    version = v.Int(0);
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", path, " has schema version ", version, "; this mt understands up to ",
        kSchemaVersion, " (it was written by a newer mt)"));
  }
  if (version < kSchemaVersion) {
    if (absl::Status s = store->Exec(
            "BEGIN IMMEDIATE;"
            "CREATE TABLE IF NOT EXISTS meta ("
            "  key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
            "CREATE TABLE IF NOT EXISTS jobs ("
            "  id TEXT PRIMARY KEY,"
            "  state INTEGER NOT NULL,"
            "  queue_order INTEGER NOT NULL DEFAULT 0,"
            "  created_unix_ms INTEGER NOT NULL,"
            "  updated_unix_ms INTEGER NOT NULL,"
            "  job BLOB NOT NULL);"
            "CREATE TABLE IF NOT EXISTS events ("
            "  job_id TEXT NOT NULL REFERENCES jobs(id),"
            "  seq INTEGER NOT NULL,"
            "  unix_ms INTEGER NOT NULL,"
            "  event BLOB NOT NULL,"
            "  PRIMARY KEY (job_id, seq)) WITHOUT ROWID;"
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('next_job_number', 1);"
            "PRAGMA user_version=1;"
            "COMMIT;",
            "creating the schema");
        !s.ok()) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
  }
  return store;
}

Store::~Store() { sqlite3_close(db_); }

absl::Status Store::Exec(const char* sql, const char* what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);  // sqlite3_errmsg below reports the same text
  if (rc != SQLITE_OK) return Error(rc, what);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Store::NextJobNumber() {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (tx.begin_rc() != SQLITE_OK) return Error(tx.begin_rc(), "reserving a job number");
  int64_t number;
  {
    Stmt get(db_, "SELECT value FROM meta WHERE key = 'next_job_number'");
    int rc = get.prepare_rc() == SQLITE_OK ? get.Step() : get.prepare_rc();
    if (rc != SQLITE_ROW) return Error(rc, "reading the job counter");
    number = get.Int(0);
  }
  {
    Stmt put(db_, "UPDATE meta SET value = ?1 WHERE key = 'next_job_number'");
    put.Bind(1, number + 1);
    int rc = put.prepare_rc() == SQLITE_OK ? put.Step() : put.prepare_rc();
    if (rc != SQLITE_DONE) return Error(rc, "advancing the job counter");
  }
  std::string why;
  if (int rc = tx.Commit(&why); rc != SQLITE_OK) {
    return Error(rc, "committing the job counter", why);
  }
  return number;
}

absl::Status Store::UpdateJobLocked(const StoredJob& row) {
  const v1::Job& job = row.job;
  Stmt up(db_,
          "UPDATE jobs SET state = ?2, queue_order = ?3, updated_unix_ms = ?4, job = ?5 "
          "WHERE id = ?1");
  up.Bind(1, job.id());
  up.Bind(2, static_cast<int64_t>(job.state()));
  up.Bind(3, row.queue_order);
  up.Bind(4, job.updated_unix_ms());
  up.BindBlob(5, job.SerializeAsString());
  int rc = up.prepare_rc() == SQLITE_OK ? up.Step() : up.prepare_rc();
  if (rc != SQLITE_DONE) return Error(rc, absl::StrCat("updating job ", job.id()));
  if (sqlite3_changes(db_) != 1) {
    return absl::NotFoundError(absl::StrCat("database ", path_, ": no job ", job.id()));
  }
  return absl::OkStatus();
}

namespace {
int InsertEvent(sqlite3* db, const v1::JobEvent& event) {
  Stmt ins(db, "INSERT INTO events(job_id, seq, unix_ms, event) VALUES (?1, ?2, ?3, ?4)");
  ins.Bind(1, event.job_id());
  ins.Bind(2, event.seq());
  ins.Bind(3, event.unix_ms());
  ins.BindBlob(4, event.SerializeAsString());
  return ins.prepare_rc() == SQLITE_OK ? ins.Step() : ins.prepare_rc();
}
}  // namespace

absl::Status Store::InsertJob(const StoredJob& row, const v1::JobEvent& first_event) {
  std::lock_guard<std::mutex> lock(mu_);
  const v1::Job& job = row.job;
  Transaction tx(db_);
  if (tx.begin_rc() != SQLITE_OK) return Error(tx.begin_rc(), "starting a transaction");
  {
    Stmt ins(db_,
             "INSERT INTO jobs(id, state, queue_order, created_unix_ms, updated_unix_ms, job) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    ins.Bind(1, job.id());
    ins.Bind(2, static_cast<int64_t>(job.state()));
    ins.Bind(3, row.queue_order);
    ins.Bind(4, job.created_unix_ms());
    ins.Bind(5, job.updated_unix_ms());
    ins.BindBlob(6, job.SerializeAsString());
    int rc = ins.prepare_rc() == SQLITE_OK ? ins.Step() : ins.prepare_rc();
    if (rc != SQLITE_DONE) return Error(rc, absl::StrCat("inserting job ", job.id()));
  }
  if (int rc = InsertEvent(db_, first_event); rc != SQLITE_DONE) {
    return Error(rc, absl::StrCat("inserting event ", first_event.seq(), " of job ", job.id()));
  }
  std::string why;
  if (int rc = tx.Commit(&why); rc != SQLITE_OK) {
    return Error(rc, absl::StrCat("committing job ", job.id()), why);
  }
  return absl::OkStatus();
}

absl::Status Store::DeleteJob(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (tx.begin_rc() != SQLITE_OK) return Error(tx.begin_rc(), "starting a transaction");
  {
    Stmt del(db_, "DELETE FROM events WHERE job_id = ?1");
    del.Bind(1, job_id);
    int rc = del.prepare_rc() == SQLITE_OK ? del.Step() : del.prepare_rc();
    if (rc != SQLITE_DONE) return Error(rc, absl::StrCat("deleting the events of job ", job_id));
  }
  {
    Stmt del(db_, "DELETE FROM jobs WHERE id = ?1");
    del.Bind(1, job_id);
    int rc = del.prepare_rc() == SQLITE_OK ? del.Step() : del.prepare_rc();
    if (rc != SQLITE_DONE) return Error(rc, absl::StrCat("deleting job ", job_id));
    if (sqlite3_changes(db_) == 0) {
      return absl::NotFoundError(absl::StrCat("no job '", job_id, "' in ", path_));
    }
  }
  std::string why;
  if (int rc = tx.Commit(&why); rc != SQLITE_OK) {
    return Error(rc, absl::StrCat("committing the deletion of job ", job_id), why);
  }
  return absl::OkStatus();
}

absl::Status Store::AppendEvent(const StoredJob& row, const v1::JobEvent& event) {
  if (event.job_id() != row.job.id()) {
    return absl::InvalidArgumentError(absl::StrCat("event of job '", event.job_id(),
                                                   "' appended with the row of job '",
                                                   row.job.id(), "'"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (tx.begin_rc() != SQLITE_OK) return Error(tx.begin_rc(), "starting a transaction");
  if (int rc = InsertEvent(db_, event); rc != SQLITE_DONE) {
    return Error(rc, absl::StrCat("appending event ", event.seq(), " of job ", event.job_id()));
  }
  if (absl::Status s = UpdateJobLocked(row); !s.ok()) return s;
  std::string why;
  if (int rc = tx.Commit(&why); rc != SQLITE_OK) {
    return Error(rc, absl::StrCat("committing event ", event.seq(), " of job ", event.job_id()),
                 why);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredJob>> Store::LoadJobs() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT id, queue_order, job FROM jobs ORDER BY rowid");
  if (q.prepare_rc() != SQLITE_OK) return Error(q.prepare_rc(), "reading jobs");
  std::vector<StoredJob> jobs;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    StoredJob row;
    if (!row.job.ParseFromString(q.Blob(2)) || row.job.id() != q.Text(0)) {
      return absl::DataLossError(
          absl::StrCat("database ", path_, ": the row of job ", q.Text(0), " is damaged"));
    }
    row.queue_order = q.Int(1);
    jobs.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return Error(rc, "reading jobs");
  return jobs;
}

absl::StatusOr<std::vector<v1::JobEvent>> Store::LoadEvents(const std::string& job_id,
                                                            int64_t from_seq) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT seq, event FROM events WHERE job_id = ?1 AND seq >= ?2 ORDER BY seq");
  if (q.prepare_rc() != SQLITE_OK) return Error(q.prepare_rc(), "reading events");
  q.Bind(1, job_id);
  q.Bind(2, from_seq);
  std::vector<v1::JobEvent> events;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    v1::JobEvent e;
    if (!e.ParseFromString(q.Blob(1)) || e.seq() != q.Int(0) || e.job_id() != job_id) {
      return absl::DataLossError(absl::StrCat("database ", path_, ": event ", q.Int(0),
                                              " of job ", job_id, " is damaged"));
    }
    events.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error(rc, absl::StrCat("reading events of job ", job_id));
  return events;
}

}  // namespace mt::server
