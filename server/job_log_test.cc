#include "server/job_log.h"

#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/small_disk_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/fixtures.h"

namespace mt::server {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string FreshDb(const std::string& name) { return mt::testing::FreshDir(name) + "/mt.db"; }

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

// Issue 8: an event that could not be written was still streamed to followers (seq 4 seen
// live as FAILED) and recorded differently after a restart (INTERRUPTED). Now a forced append
// that fails on a full disk shows only what the database will hold: the log keeps the recorded
// events, the row and a non-persisted notice show INTERRUPTED, and the notice says why.
TEST(JobLog, AnEndThatCannotBeRecordedShowsWhatARestartWillRecord) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(base ? base : "/tmp") + "/log_full_disk";
  if (std::string why = mt::testing::MountSmallDisk(dir, 512 * 1024); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const std::string path = dir + "/mt.db";
  std::vector<v1::JobEvent> recorded;
  {
    std::unique_ptr<JobLog> log = MustOpen(path);
    MustInsert(*log, "job-1");
    ASSERT_TRUE(log->Append(WithState(*log, "job-1", v1::RUNNING), 1,
                            StateEvent(v1::RUNNING, "running", false), false)
                    .ok());
    ASSERT_GT(mt::testing::FillDisk(dir), 0u);
    // Use up what SQLite has in hand (free pages, WAL room) with epoch events until one fails;
    // each failed one changes nothing.
    absl::Status full;
    for (int epoch = 1; epoch <= 100000 && full.ok(); ++epoch) {
      v1::EpochMetrics m;
      m.set_epoch(epoch);
      v1::JobEvent event;
      *event.mutable_epoch() = m;
      event.mutable_epoch()->set_learning_rate(0.5);
      const int64_t seq_before = log->Row("job-1")->job.last_seq();
      full = log->Append(JobAfterEpoch(log->Row("job-1")->job, m), 1, event, false);
      if (!full.ok()) {
        EXPECT_EQ(log->Row("job-1")->job.last_seq(), seq_before);
      }
    }
    ASSERT_FALSE(full.ok()) << "the disk never filled up";
    EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
    EXPECT_THAT(full.message(), HasSubstr("no space left on device"));
    EXPECT_THAT(full.message(), ::testing::Not(HasSubstr("cannot rollback")));

    // A follower waits; the job's end (FAILED) cannot be written.
    absl::StatusOr<WatchBatch> seen = log->Watch("job-1", 1, false, 0, steady_clock::now());
    ASSERT_TRUE(seen.ok());
    const int64_t last = log->Row("job-1")->job.last_seq();
    std::vector<v1::JobEvent> live;
    std::thread follower([&] {
      int64_t from = last + 1;
      for (int i = 0; i < 100; ++i) {
        absl::StatusOr<WatchBatch> b =
            log->Watch("job-1", from, true, 0, steady_clock::now() + std::chrono::seconds(60));
        ASSERT_TRUE(b.ok()) << b.status();
        for (const v1::JobEvent& e : b->events) live.push_back(e);
        if (!b->events.empty()) from = b->events.back().seq() + 1;
        if (b->finished) return;
      }
    });
    std::this_thread::sleep_for(milliseconds(50));
    v1::Job failed = WithState(*log, "job-1", v1::FAILED);
    failed.set_error("cannot write the checkpoint: no space left on device");
    absl::Status s = log->Append(failed, 1, StateEvent(v1::FAILED, failed.error(), true),
                                 /*force=*/true);
    follower.join();
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    // The row: INTERRUPTED (what recovery records for a job the database still has RUNNING),
    // no seq taken, the cause and the write error in its error.
    StoredJob row = *log->Row("job-1");
    EXPECT_EQ(row.job.state(), v1::INTERRUPTED);
    EXPECT_EQ(row.job.last_seq(), last);
    EXPECT_THAT(row.job.error(), HasSubstr("cannot write the checkpoint: no space left on device"));
    EXPECT_THAT(row.job.error(), HasSubstr("could not be recorded"));
    // The follower got one notice: terminal, INTERRUPTED, at the last recorded seq.
    ASSERT_EQ(live.size(), 1u);
    EXPECT_TRUE(live[0].terminal());
    EXPECT_EQ(live[0].seq(), last);
    EXPECT_EQ(live[0].state().state(), v1::INTERRUPTED);
    EXPECT_THAT(live[0].state().message(), HasSubstr("no space left on device"));
    // A replay shows the recorded events, then the notice.
    absl::StatusOr<WatchBatch> replay = log->Watch("job-1", 1, false, 0, steady_clock::now());
    ASSERT_TRUE(replay.ok());
    ASSERT_EQ(replay->events.size(), static_cast<size_t>(last) + 1);
    EXPECT_EQ(replay->events.back().SerializeAsString(), live[0].SerializeAsString());
    recorded.assign(replay->events.begin(), replay->events.end() - 1);
  }
  // After a restart the database has exactly the recorded events (the job still RUNNING there,
  // for recovery to mark INTERRUPTED).
  mt::testing::FreeDisk(dir);
  std::unique_ptr<JobLog> log = MustOpen(path);
  EXPECT_EQ(log->Row("job-1")->job.state(), v1::RUNNING);
  absl::StatusOr<WatchBatch> stored = log->Watch("job-1", 1, false, 0, steady_clock::now());
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->events.size(), recorded.size());
  for (size_t i = 0; i < recorded.size(); ++i) {
    EXPECT_EQ(stored->events[i].SerializeAsString(), recorded[i].SerializeAsString()) << i;
  }
}

}  // namespace
}  // namespace mt::server
