// History events in the store: a database written by an mt from before history events (schema
// 1, as that mt created it, with an epoch event without validation loss) opens unchanged, takes
// the new event kinds, and gives every event back byte for byte after reopening; the series
// folded from it say what is and is not known.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/metric_series.h"
#include "server/store.h"

namespace mt::server {
namespace {

std::string TempDb(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/store_history_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir + "/mt.db";
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
}

void InsertBlob(sqlite3* db, const char* sql, const std::string& blob) {
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK);
  sqlite3_bind_blob(st, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
}

int64_t UserVersion(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
  const int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

TEST(StoreHistory, AnOldDatabaseOpensAndTakesHistoryEvents) {
  const std::string path = TempDb("old");
  v1::Job job;
  job.set_id("job-000001");
  job.set_state(v1::RUNNING);
  job.set_last_seq(2);
  v1::JobEvent running;
  running.set_job_id("job-000001");
  running.set_seq(1);
  running.mutable_state()->set_state(v1::RUNNING);
  v1::JobEvent old_epoch;  // what an older daemon wrote: no valid_loss, no step
  old_epoch.set_job_id("job-000001");
  old_epoch.set_seq(2);
  old_epoch.mutable_epoch()->set_epoch(1);
  old_epoch.mutable_epoch()->set_train_loss(0.5);
  old_epoch.mutable_epoch()->set_valid_accuracy(0.9);
  {
    // The schema exactly as mt's store created it before this change.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    Exec(db,
         "PRAGMA journal_mode=WAL;"
         "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
         "CREATE TABLE jobs (id TEXT PRIMARY KEY, state INTEGER NOT NULL,"
         "  queue_order INTEGER NOT NULL DEFAULT 0, created_unix_ms INTEGER NOT NULL,"
         "  updated_unix_ms INTEGER NOT NULL, job BLOB NOT NULL);"
         "CREATE TABLE events (job_id TEXT NOT NULL REFERENCES jobs(id), seq INTEGER NOT NULL,"
         "  unix_ms INTEGER NOT NULL, event BLOB NOT NULL, PRIMARY KEY (job_id, seq))"
         "  WITHOUT ROWID;"
         "INSERT INTO meta(key, value) VALUES ('next_job_number', 2);"
         "PRAGMA user_version=1;");
    InsertBlob(db, "INSERT INTO jobs VALUES ('job-000001', 2, 0, 1, 1, ?1)",
               job.SerializeAsString());
    InsertBlob(db, "INSERT INTO events VALUES ('job-000001', 1, 1, ?1)",
               running.SerializeAsString());
    InsertBlob(db, "INSERT INTO events VALUES ('job-000001', 2, 2, ?1)",
               old_epoch.SerializeAsString());
    sqlite3_close(db);
  }

  v1::JobEvent point;
  point.set_job_id("job-000001");
  point.set_seq(3);
  v1::ScalarPoint* p = point.mutable_scalars()->add_points();
  p->set_tag("train/loss");
  p->set_step(12);
  p->set_epoch(1.5);
  p->set_value(0.25);
  v1::JobEvent confusion;
  confusion.set_job_id("job-000001");
  confusion.set_seq(4);
  confusion.mutable_confusion()->set_epoch(2);
  confusion.mutable_confusion()->set_num_classes(2);
  for (int64_t n : {5, 1, 2, 7}) confusion.mutable_confusion()->add_counts(n);
  v1::ConfusionExample* x = confusion.mutable_confusion()->add_misclassified();
  x->set_valid_index(3);
  x->set_label(0);
  x->set_predicted(1);
  confusion.mutable_confusion()->set_misclassified_total(3);
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    StoredJob row{job, 0};
    row.job.set_last_seq(3);
    ASSERT_TRUE((*store)->AppendEvent(row, point).ok());
    row.job.set_last_seq(4);
    ASSERT_TRUE((*store)->AppendEvent(row, confusion).ok());
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<v1::JobEvent>> events = (*store)->LoadEvents("job-000001");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[1].SerializeAsString(), old_epoch.SerializeAsString());
  EXPECT_EQ((*events)[2].SerializeAsString(), point.SerializeAsString());
  EXPECT_EQ((*events)[3].SerializeAsString(), confusion.SerializeAsString());
  store->reset();
  EXPECT_EQ(UserVersion(path), 1) << "history needs no new schema: an older mt still opens it";

  MetricSeries series;
  for (const v1::JobEvent& e : *events) series.Add(e);
  EXPECT_EQ(series.series().count("epoch/valid_loss"), 0u) << "not measured by the old daemon";
  ASSERT_EQ(series.series().count("epoch/train_loss"), 1u);
  EXPECT_EQ(series.series().at("epoch/train_loss")[0].value, 0.5);
  EXPECT_EQ(series.series().at("epoch/train_loss")[0].step, 0) << "unknown for old events";
  ASSERT_EQ(series.series().at("train/loss").size(), 1u);
  EXPECT_EQ(series.series().at("train/loss")[0].step, 12);
  ASSERT_EQ(series.confusions().size(), 1u);
  EXPECT_THAT(series.confusions().at(2).counts(), ::testing::ElementsAre(5, 1, 2, 7));
}

}  // namespace
}  // namespace mt::server
