#include "server/job_log.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mt::server {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string FreshDb(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(base ? base : "/tmp") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir + "/mt.db";
}

std::unique_ptr<JobLog> MustOpen(const std::string& path) {
  absl::StatusOr<std::unique_ptr<JobLog>> log = JobLog::Open(path);
  EXPECT_TRUE(log.ok()) << log.status();
  absl::StatusOr<std::vector<StoredJob>> rows = (*log)->Load();
  EXPECT_TRUE(rows.ok()) << rows.status();
  return std::move(*log);
}

v1::Job NewJob(const std::string& id) {
  v1::Job job;
  job.set_id(id);
  job.set_state(v1::QUEUED);
  job.set_device("cpu");
  job.set_last_seq(1);
  return job;
}

void MustInsert(JobLog& log, const std::string& id) {
  ASSERT_TRUE(log.Insert(NewJob(id), 1, StateEvent(v1::QUEUED, "submitted", false)).ok());
}

v1::Job WithState(JobLog& log, const std::string& id, v1::JobState state) {
  v1::Job job = log.Row(id)->job;
  job.set_state(state);
  return job;
}

TEST(JobLog, SequenceNumbersAreGaplessAndSurviveReopening) {
  const std::string path = FreshDb("log_seq");
  {
    std::unique_ptr<JobLog> log = MustOpen(path);
    MustInsert(*log, "job-1");
    ASSERT_TRUE(log->Append(WithState(*log, "job-1", v1::RUNNING), 1,
                            StateEvent(v1::RUNNING, "running", false), false)
                    .ok());
    v1::EpochMetrics m;
    m.set_epoch(1);
    m.set_valid_accuracy(0.5);
    v1::JobEvent epoch;
    *epoch.mutable_epoch() = m;
    ASSERT_TRUE(log->Append(JobAfterEpoch(log->Row("job-1")->job, m), 1, epoch, false).ok());
    EXPECT_EQ(log->Row("job-1")->job.last_seq(), 3);
    EXPECT_EQ(log->Row("job-1")->job.epochs_done(), 1);
    EXPECT_EQ(log->Row("job-1")->job.best_epoch(), 1);
  }
  std::unique_ptr<JobLog> log = MustOpen(path);
  absl::StatusOr<WatchBatch> b =
      log->Watch("job-1", 1, /*follow=*/false, 0, steady_clock::now());
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->events.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(b->events[i].seq(), i + 1);
    EXPECT_EQ(b->events[i].job_id(), "job-1");
  }
  EXPECT_EQ(b->events[1].state().state(), v1::RUNNING);
  EXPECT_EQ(b->events[2].epoch().epoch(), 1);
  EXPECT_TRUE(b->finished);
}

TEST(JobLog, WatchErrorsNameTheJobAndTheValidRange) {
  std::unique_ptr<JobLog> log = MustOpen(FreshDb("log_errors"));
  MustInsert(*log, "job-1");
  absl::StatusOr<WatchBatch> b = log->Watch("job-9", 1, true, 0, steady_clock::now());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kNotFound);
  b = log->Watch("job-1", 3, true, 0, steady_clock::now());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(b.status().message(), HasSubstr("has events 1..1; use 1 to replay all or 2"));
}

// The watcher must wake when the event arrives, not at its deadline or at a poll interval. The
// deadline is a minute away; the bound of 5 s is far above the wake-up time even on a slow,
// busy machine, and far below anything a poll-based wait could reach by chance.
TEST(JobLog, WatchWakesPromptlyOnANewEvent) {
  std::unique_ptr<JobLog> log = MustOpen(FreshDb("log_wake"));
  MustInsert(*log, "job-1");
  const auto start = steady_clock::now();
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(100));
    ASSERT_TRUE(log->Append(WithState(*log, "job-1", v1::RUNNING), 1,
                            StateEvent(v1::RUNNING, "running", false), false)
                    .ok());
  });
  absl::StatusOr<WatchBatch> b =
      log->Watch("job-1", 2, /*follow=*/true, 0, start + std::chrono::seconds(60));
  const auto waited = steady_clock::now() - start;
  writer.join();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->events.size(), 1u);
  EXPECT_EQ(b->events[0].seq(), 2);
  EXPECT_FALSE(b->finished);
  EXPECT_GE(waited, milliseconds(100));  // it did wait for the event
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST(JobLog, WatchWakesPromptlyOnProgressAndReturnsItOnce) {
  std::unique_ptr<JobLog> log = MustOpen(FreshDb("log_progress"));
  MustInsert(*log, "job-1");
  const auto start = steady_clock::now();
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    v1::BatchProgress p;
    p.set_epoch(1);
    p.set_batch(7);
    log->SetProgress("job-1", p);
  });
  absl::StatusOr<WatchBatch> b = log->Watch("job-1", 2, true, 0, start + std::chrono::seconds(60));
  writer.join();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(b->has_progress);
  EXPECT_EQ(b->progress.progress().batch(), 7);
  EXPECT_EQ(b->progress.seq(), 1);  // the last persisted seq
  EXPECT_EQ(b->progress_version, 1);
  // Already seen: nothing new until the deadline (which has passed).
  b = log->Watch("job-1", 2, true, b->progress_version, steady_clock::now());
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_progress);
  EXPECT_TRUE(b->events.empty());
  EXPECT_FALSE(b->finished);
}

TEST(JobLog, WatchReturnsEmptyAtItsDeadline) {
  std::unique_ptr<JobLog> log = MustOpen(FreshDb("log_deadline"));
  MustInsert(*log, "job-1");
  const auto start = steady_clock::now();
  absl::StatusOr<WatchBatch> b = log->Watch("job-1", 2, true, 0, start + milliseconds(200));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->events.empty());
  EXPECT_FALSE(b->finished);
  EXPECT_GE(steady_clock::now() - start, milliseconds(200));
}

TEST(JobLog, ShutdownWakesWatchersOfQueuedJobsWithAClosingEvent) {
  std::unique_ptr<JobLog> log = MustOpen(FreshDb("log_shutdown"));
  MustInsert(*log, "job-1");
  const auto start = steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    log->BeginShutdown(nullptr);
  });
  absl::StatusOr<WatchBatch> b = log->Watch("job-1", 2, true, 0, start + std::chrono::seconds(60));
  stopper.join();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->finished);
  ASSERT_EQ(b->events.size(), 1u);
  EXPECT_TRUE(b->events[0].terminal());
  EXPECT_EQ(b->events[0].state().message(),
            "the daemon is shutting down; job job-1 stays QUEUED and runs after it restarts; "
            "watch again with from_seq=2");
}

TEST(JobLog, WaitUntilReturnsWhenTheRowChanges) {
  std::unique_ptr<JobLog> log = MustOpen(FreshDb("log_wait"));
  MustInsert(*log, "job-1");
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    ASSERT_TRUE(log->Append(WithState(*log, "job-1", v1::CANCELLED), 1,
                            StateEvent(v1::CANCELLED, "cancelled", true), false)
                    .ok());
  });
  log->WaitUntil("job-1", [](const v1::Job& j) { return j.state() == v1::CANCELLED; });
  writer.join();
  EXPECT_EQ(log->Row("job-1")->job.state(), v1::CANCELLED);
}

TEST(JobLog, WaitUntilGivesUpAtItsDeadline) {
  std::unique_ptr<JobLog> log = MustOpen(FreshDb("log_wait_deadline"));
  MustInsert(*log, "job-1");
  const auto start = steady_clock::now();
  EXPECT_FALSE(log->WaitUntil(
      "job-1", [](const v1::Job& j) { return j.state() == v1::CANCELLED; },
      start + milliseconds(100)));
  EXPECT_GE(steady_clock::now() - start, milliseconds(100));
  EXPECT_TRUE(log->WaitUntil(
      "job-1", [](const v1::Job& j) { return j.state() == v1::QUEUED; }, start));
}

}  // namespace
}  // namespace mt::server
