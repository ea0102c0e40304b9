#include "server/runner.h"

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "engine/data/mnist_fixture.h"
#include "gtest/gtest.h"

namespace mt::server {
namespace {

std::string TmpRoot() {
  const char* base = std::getenv("TEST_TMPDIR");
  return base ? base : "/tmp";
}

const std::string& DataDir() {
  static const std::string* dir = [] {
    auto* d = new std::string(TmpRoot() + "/data");
    data::testing::WriteMnistIdx(*d, data::testing::SyntheticDigits(240, 1),
                                 data::testing::SyntheticDigits(60, 2));
    return d;
  }();
  return *dir;
}

RunRequest Request(const std::string& name, int64_t epochs) {
  RunRequest r;
  r.job_id = name;
  r.config.task = "mnist";
  r.config.model = "lenet5";
  r.config.epochs = epochs;
  r.config.batch_size = 32;
  r.config.train_size = 200;
  r.config.valid_size = 50;
  r.config.threads = 1;
  r.config.seed = 7;
  r.config.data_dir = DataDir();
  r.checkpoint_dir = TmpRoot() + "/runs/" + name;
  std::filesystem::remove_all(r.checkpoint_dir);
  return r;
}

// Records what a run reports, and lets the test wait for its end or its first batch.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  int batches = 0;
  std::vector<int64_t> epochs;
  bool finished = false;
  RunOutcome outcome;
  absl::Status epoch_status;  // what on_epoch answers

  RunCallbacks Callbacks() {
    RunCallbacks c;
    c.on_progress = [this](const v1::BatchProgress& p) {
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_GE(p.batch(), 1);
      EXPECT_EQ(p.num_batches(), 7);  // 200 images / 32, the last batch partial
      ++batches;
      cv.notify_all();
    };
    c.on_epoch = [this](const v1::EpochMetrics& m) {
      std::lock_guard<std::mutex> lock(mu);
      epochs.push_back(m.epoch());
      EXPECT_EQ(m.valid_total(), 50);
      return epoch_status;
    };
    c.on_finished = [this](const RunOutcome& o) {
      std::lock_guard<std::mutex> lock(mu);
      outcome = o;
      finished = true;
      cv.notify_all();
    };
    return c;
  }
  void WaitFor(const std::function<bool()>& pred) {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(120), pred)) << "timed out";
  }
};

TEST(ThreadRunner, RunsToTheEndReportingBatchesAndEpochsAfterTheirCheckpoint) {
  DataCache cache;
  ThreadRunner runner(&cache);
  Recorder rec;
  RunRequest req = Request("full", 2);
  runner.Start(req, false, rec.Callbacks());
  rec.WaitFor([&] { return rec.finished; });
  runner.WaitIdle();
  EXPECT_TRUE(rec.outcome.status.ok()) << rec.outcome.status;
  EXPECT_FALSE(rec.outcome.cancelled);
  EXPECT_EQ(rec.outcome.completed_epochs, 2);
  EXPECT_EQ(rec.epochs, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(rec.batches, 14);
  EXPECT_TRUE(std::filesystem::exists(LatestCheckpointPath(req.checkpoint_dir)));
  CheckpointInfo ck = InspectCheckpoint(LatestCheckpointPath(req.checkpoint_dir));
  EXPECT_EQ(ck.epoch, 2);
  ASSERT_TRUE(ck.metrics.has_value());
  EXPECT_EQ(ck.metrics->epoch(), 2);
}

TEST(ThreadRunner, CancelledBeforeItBeginsStopsBeforeTheFirstBatch) {
  DataCache cache;
  ThreadRunner runner(&cache);
  Recorder rec;
  runner.Start(Request("cancelled", 3), true, rec.Callbacks());
  rec.WaitFor([&] { return rec.finished; });
  runner.WaitIdle();
  EXPECT_TRUE(rec.outcome.status.ok()) << rec.outcome.status;
  EXPECT_TRUE(rec.outcome.cancelled);
  EXPECT_EQ(rec.outcome.completed_epochs, 0);
  EXPECT_TRUE(rec.epochs.empty());
}

TEST(ThreadRunner, CancelStopsARunningJobBetweenBatches) {
  DataCache cache;
  ThreadRunner runner(&cache);
  Recorder rec;
  runner.Start(Request("running", 500), false, rec.Callbacks());
  rec.WaitFor([&] { return rec.batches >= 1; });
  runner.Cancel("running");
  runner.Cancel("no-such-job");  // a no-op
  rec.WaitFor([&] { return rec.finished; });
  runner.WaitIdle();
  EXPECT_TRUE(rec.outcome.status.ok()) << rec.outcome.status;
  EXPECT_TRUE(rec.outcome.cancelled);
  EXPECT_LT(rec.outcome.completed_epochs, 500);
}

TEST(ThreadRunner, AnEpochThatCannotBeRecordedStopsTheRunWithThatError) {
  DataCache cache;
  ThreadRunner runner(&cache);
  Recorder rec;
  rec.epoch_status = absl::UnavailableError("database is full");
  runner.Start(Request("unrecorded", 3), false, rec.Callbacks());
  rec.WaitFor([&] { return rec.finished; });
  runner.WaitIdle();
  EXPECT_EQ(rec.outcome.status, absl::UnavailableError("database is full"));
  EXPECT_EQ(rec.epochs, (std::vector<int64_t>{1}));
}

TEST(ThreadRunner, MissingDataIsNotFoundSayingWhereTheDaemonLooked) {
  DataCache cache;
  ThreadRunner runner(&cache);
  Recorder rec;
  RunRequest req = Request("nodata", 1);
  req.config.data_dir = TmpRoot() + "/no-data-here";
  runner.Start(req, false, rec.Callbacks());
  rec.WaitFor([&] { return rec.finished; });
  runner.WaitIdle();
  EXPECT_EQ(rec.outcome.status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(rec.outcome.status.message().find("the daemon reads datasets from " +
                                               req.config.data_dir),
            std::string::npos)
      << rec.outcome.status;
}

}  // namespace
}  // namespace mt::server
