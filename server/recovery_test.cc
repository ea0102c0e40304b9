#include "server/recovery.h"

#include "gtest/gtest.h"
#include "tests/server/fixtures.h"

namespace mt::server {
namespace {

std::string FreshDb(const std::string& name) { return mt::testing::FreshDir(name) + "/mt.db"; }

v1::Device Cpu() {
  v1::Device d;
  d.set_name("cpu");
  d.set_max_running(1);
  return d;
}

// Writes a job whose row says `state` (after a QUEUED first event), as a dead daemon left it.
void Leave(JobLog& log, const std::string& id, v1::JobState state, int64_t queue_order,
           const std::string& device = "cpu") {
  v1::Job job;
  job.set_id(id);
  job.set_state(v1::QUEUED);
  job.set_device(device);
  job.set_last_seq(1);
  ASSERT_TRUE(log.Insert(job, queue_order, StateEvent(v1::QUEUED, "submitted", false)).ok());
  if (state == v1::QUEUED) return;
  job.set_state(state);
  ASSERT_TRUE(log.Append(job, queue_order, StateEvent(state, "left", false), false).ok());
}

std::unique_ptr<JobLog> Reopen(const std::string& path, std::vector<StoredJob>* rows) {
  absl::StatusOr<std::unique_ptr<JobLog>> log = JobLog::Open(path);
  EXPECT_TRUE(log.ok()) << log.status();
  absl::StatusOr<std::vector<StoredJob>> r = (*log)->Load();
  EXPECT_TRUE(r.ok()) << r.status();
  *rows = std::move(*r);
  return std::move(*log);
}

std::vector<v1::JobEvent> Events(JobLog& log, const std::string& id) {
  return log.Watch(id, 1, false, 0, std::chrono::steady_clock::now())->events;
}

TEST(Recovery, RunningJobRecordsTheCheckpointedEpochThenBecomesInterrupted) {
  const std::string path = FreshDb("recover_running");
  {
    std::vector<StoredJob> rows;
    std::unique_ptr<JobLog> log = Reopen(path, &rows);
    Leave(*log, "job-1", v1::RUNNING, 1);
  }
  std::vector<StoredJob> rows;
  std::unique_ptr<JobLog> log = Reopen(path, &rows);
  Scheduler scheduler({Cpu()});
  v1::EpochMetrics m;
  m.set_epoch(1);
  m.set_valid_accuracy(0.75);
  absl::StatusOr<std::map<std::string, int64_t>> resume = RecoverJobs(
      *log, rows, [&](const std::string&) { return CheckpointInfo{1, m}; }, scheduler);
  ASSERT_TRUE(resume.ok()) << resume.status();
  EXPECT_EQ(resume->at("job-1"), 1);
  std::vector<v1::JobEvent> events = Events(*log, "job-1");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[2].epoch().epoch(), 1);
  EXPECT_EQ(events[3].seq(), 4);
  EXPECT_EQ(events[3].state().state(), v1::INTERRUPTED);
  EXPECT_EQ(events[3].state().message(),
            "daemon stopped while running (last checkpoint: epoch 1); `mt-client resume job-1` "
            "continues from there");
  EXPECT_TRUE(events[3].terminal());
  v1::Job job = log->Row("job-1")->job;
  EXPECT_EQ(job.state(), v1::INTERRUPTED);
  EXPECT_EQ(job.epochs_done(), 1);
  EXPECT_DOUBLE_EQ(job.best_valid_accuracy(), 0.75);
}

TEST(Recovery, RunningJobWithoutCheckpointSaysSo) {
  const std::string path = FreshDb("recover_running_none");
  {
    std::vector<StoredJob> rows;
    std::unique_ptr<JobLog> log = Reopen(path, &rows);
    Leave(*log, "job-1", v1::RUNNING, 1);
  }
  std::vector<StoredJob> rows;
  std::unique_ptr<JobLog> log = Reopen(path, &rows);
  Scheduler scheduler({Cpu()});
  ASSERT_TRUE(RecoverJobs(*log, rows, [](const std::string&) { return CheckpointInfo{}; },
                          scheduler)
                  .ok());
  std::vector<v1::JobEvent> events = Events(*log, "job-1");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].state().message(),
            "daemon stopped while running (no checkpoint: no epoch had finished); `mt-client "
            "resume job-1` continues from there");
}

TEST(Recovery, QueuedJobsAreQueuedAgainInQueueOrderOrFailWithoutTheirDevice) {
  const std::string path = FreshDb("recover_queued");
  {
    std::vector<StoredJob> rows;
    std::unique_ptr<JobLog> log = Reopen(path, &rows);
    Leave(*log, "job-1", v1::QUEUED, 7);  // resumed after job-2 was submitted
    Leave(*log, "job-2", v1::QUEUED, 3);
    Leave(*log, "job-3", v1::QUEUED, 5, "cuda:7");
    Leave(*log, "job-4", v1::CANCELLED, 1);
  }
  std::vector<StoredJob> rows;
  std::unique_ptr<JobLog> log = Reopen(path, &rows);
  Scheduler scheduler({Cpu()});
  absl::StatusOr<std::map<std::string, int64_t>> resume = RecoverJobs(
      *log, rows, [](const std::string& id) { return CheckpointInfo{id == "job-4" ? 2 : 0, {}}; },
      scheduler);
  ASSERT_TRUE(resume.ok()) << resume.status();
  EXPECT_EQ(resume->at("job-4"), 2);
  EXPECT_EQ(resume->at("job-1"), 0);
  EXPECT_EQ(scheduler.NextToStart("cpu"), "job-2");
  EXPECT_EQ(scheduler.WaitingReason("cpu", "job-1"),
            "waiting for cpu: 0 of 1 slots busy; 2nd in queue");
  v1::Job failed = log->Row("job-3")->job;
  EXPECT_EQ(failed.state(), v1::FAILED);
  EXPECT_EQ(failed.error(), "device cuda:7 is not available (available: cpu)");
  EXPECT_EQ(log->Row("job-4")->job.state(), v1::CANCELLED);
  EXPECT_EQ(Events(*log, "job-4").size(), 2u);  // untouched
}

}  // namespace
}  // namespace mt::server
