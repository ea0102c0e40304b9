// The store on a real SQLite file: rows and events survive reopening, seqs are unique per job,
// the job counter never repeats, and errors name the database.
#include "server/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace mt::server {
namespace {

using ::testing::HasSubstr;

std::string TempDb(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/store_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir + "/mt.db";
}

StoredJob MakeJob(const std::string& id, v1::JobState state, int64_t queue_order) {
  StoredJob row;
  row.job.set_id(id);
  row.job.set_state(state);
  row.job.mutable_spec()->set_task("mnist");
  row.job.set_created_unix_ms(1000);
  row.job.set_updated_unix_ms(1000);
  row.job.set_last_seq(1);
  row.queue_order = queue_order;
  return row;
}

v1::JobEvent StateChange(const std::string& id, int64_t seq, v1::JobState state) {
  v1::JobEvent e;
  e.set_job_id(id);
  e.set_seq(seq);
  e.set_unix_ms(1000 + seq);
  e.mutable_state()->set_state(state);
  e.mutable_state()->set_message("m" + std::to_string(seq));
  return e;
}

TEST(Store, RowsAndEventsSurviveReopening) {
  const std::string path = TempDb("reopen");
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->InsertJob(MakeJob("job-000001", v1::QUEUED, 1),
                                    StateChange("job-000001", 1, v1::QUEUED))
                    .ok());
    ASSERT_TRUE((*store)->InsertJob(MakeJob("job-000002", v1::QUEUED, 2),
                                    StateChange("job-000002", 1, v1::QUEUED))
                    .ok());
    StoredJob running = MakeJob("job-000001", v1::RUNNING, 1);
    running.job.set_last_seq(2);
    ASSERT_TRUE((*store)->AppendEvent(running, StateChange("job-000001", 2, v1::RUNNING)).ok());
    v1::JobEvent epoch;
    epoch.set_job_id("job-000001");
    epoch.set_seq(3);
    epoch.mutable_epoch()->set_epoch(1);
    epoch.mutable_epoch()->set_valid_accuracy(0.5);
    running.job.set_last_seq(3);
    running.job.set_epochs_done(1);
    ASSERT_TRUE((*store)->AppendEvent(running, epoch).ok());
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<StoredJob>> jobs = (*store)->LoadJobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].job.id(), "job-000001");  // creation order
  EXPECT_EQ((*jobs)[0].job.state(), v1::RUNNING);
  EXPECT_EQ((*jobs)[0].job.epochs_done(), 1);
  EXPECT_EQ((*jobs)[0].queue_order, 1);
  EXPECT_EQ((*jobs)[1].job.id(), "job-000002");
  EXPECT_EQ((*jobs)[1].queue_order, 2);

  absl::StatusOr<std::vector<v1::JobEvent>> events = (*store)->LoadEvents("job-000001");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*events)[i].seq(), i + 1);
  EXPECT_EQ((*events)[1].state().state(), v1::RUNNING);
  EXPECT_EQ((*events)[2].epoch().valid_accuracy(), 0.5);
  events = (*store)->LoadEvents("job-000001", 3);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].seq(), 3);
}

TEST(Store, DuplicateSeqAndUnknownJobAreRejectedWithoutPartialWrites) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(TempDb("dup"));
  ASSERT_TRUE(store.ok()) << store.status();
  StoredJob row = MakeJob("job-000001", v1::QUEUED, 1);
  ASSERT_TRUE((*store)->InsertJob(row, StateChange("job-000001", 1, v1::QUEUED)).ok());
  // Same seq again: the event is refused and the row is not changed either.
  StoredJob changed = row;
  changed.job.set_state(v1::RUNNING);
  absl::Status s = (*store)->AppendEvent(changed, StateChange("job-000001", 1, v1::RUNNING));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  absl::StatusOr<std::vector<StoredJob>> jobs = (*store)->LoadJobs();
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ((*jobs)[0].job.state(), v1::QUEUED);

  s = (*store)->AppendEvent(MakeJob("job-000009", v1::RUNNING, 0),
                            StateChange("job-000009", 2, v1::RUNNING));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  s = (*store)->InsertJob(row, StateChange("job-000001", 1, v1::QUEUED));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
}

TEST(Store, DeleteJobRemovesRowAndEventsOfThatJobOnly) {
  const std::string path = TempDb("delete");
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    for (const char* id : {"job-000001", "job-000002"}) {
      ASSERT_TRUE((*store)->InsertJob(MakeJob(id, v1::QUEUED, 1), StateChange(id, 1, v1::QUEUED))
                      .ok());
      StoredJob done = MakeJob(id, v1::SUCCEEDED, 1);
      done.job.set_last_seq(2);
      ASSERT_TRUE((*store)->AppendEvent(done, StateChange(id, 2, v1::SUCCEEDED)).ok());
    }
    ASSERT_TRUE((*store)->DeleteJob("job-000001").ok());
    absl::Status again = (*store)->DeleteJob("job-000001");
    EXPECT_EQ(again.code(), absl::StatusCode::kNotFound) << again;
    EXPECT_THAT(std::string(again.message()), HasSubstr(path));
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_TRUE(store.ok());
  absl::StatusOr<std::vector<StoredJob>> jobs = (*store)->LoadJobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].job.id(), "job-000002");
  EXPECT_TRUE((*store)->LoadEvents("job-000001")->empty());
  EXPECT_EQ((*store)->LoadEvents("job-000002")->size(), 2u);
}

TEST(Store, JobNumbersNeverRepeatAcrossReopening) {
  const std::string path = TempDb("counter");
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ(*(*store)->NextJobNumber(), 1);
    EXPECT_EQ(*(*store)->NextJobNumber(), 2);
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*(*store)->NextJobNumber(), 3);
}

TEST(Store, UsesWalAndFullSync) {
  const std::string path = TempDb("wal");
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_TRUE(store.ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(Store, ErrorsNameTheDatabase) {
  const std::string path = TempDb("garbage");
  {
    std::ofstream f(path, std::ios::binary);
    f << std::string(4096, 'x');
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(path));

  store = Store::Open(TempDb("missing") + ".d/sub/mt.db");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("mt.db"));
}

TEST(Store, RefusesANewerSchema) {
  const std::string path = TempDb("newer");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=7", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("newer"));
}

}  // namespace
}  // namespace mt::server
