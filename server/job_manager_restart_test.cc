// The job manager across restarts: a graceful restart keeps jobs, events and ids; a crash
// (a job left RUNNING, an epoch checkpointed but not logged) is recovered; queued jobs keep
// their order.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "server/job_manager.h"
#include "server/job_manager_test_util.h"
#include "server/store.h"

namespace mt::server {
namespace {

namespace fs = std::filesystem;
using namespace ::mt::server::jm_testing;  // the shared fixture: data, specs, waits, streams
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using std::chrono::milliseconds;

TEST(JobManager, RestartKeepsJobsEventsAndIds) {
  const std::string dir = FreshDir("restart");
  std::vector<std::string> before;
  v1::Job finished;
  {
    std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
    ASSERT_TRUE(m);
    absl::StatusOr<v1::Job> job = m->Submit(SmallSpec(1));
    ASSERT_TRUE(job.ok());
    Stream s = Follow(*m, job->id());
    before = Serialized(s.events);
    finished = *m->Get(job->id());
    // A second manager on the same state directory is refused while this one lives.
    absl::StatusOr<std::unique_ptr<JobManager>> twin = JobManager::Create(MakeOptions(dir));
    ASSERT_FALSE(twin.ok());
    EXPECT_EQ(twin.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(twin.status().message(), HasSubstr("in use"));
  }
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
  ASSERT_TRUE(m);
  absl::StatusOr<v1::Job> again = m->Get(finished.id());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), finished.SerializeAsString());
  absl::StatusOr<WatchBatch> log = m->Watch(finished.id(), 1, false, 0, milliseconds(0));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(Serialized(log->events), before);
  absl::StatusOr<v1::Job> next = m->Submit(SmallSpec(1));
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->id(), finished.id()) << "ids are never reused and sort by age";
  std::vector<v1::Job> all = m->List(v1::JOB_STATE_UNSPECIFIED);
  ASSERT_THAT(all, SizeIs(2));
  EXPECT_EQ(all[0].id(), next->id()) << "newest first";
  // Predict still works from the checkpoint after the restart.
  ModelInput in;
  absl::StatusOr<v1::PredictResponse> p = m->Predict(finished.id(), in);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->checkpoint_epoch(), 1);
}

// A crash leaves a job RUNNING in the database: written here through the store, with the
// checkpoint a real run left after epoch 1.
// Writes, into `dir`, the state a daemon leaves when it dies while a 3-epoch job runs: the
// job's row and its first `logged` events (QUEUED, RUNNING, epoch 1) as RUNNING, plus a real
// epoch-1 checkpoint taken from a donor run. Returns the job's id.
std::string CrashedJob(const std::string& dir, int logged) {
  const std::string donor_dir = dir + "_donor";
  fs::remove_all(donor_dir);
  v1::Job donor;
  {
    std::unique_ptr<JobManager> m = MustCreate(MakeOptions(donor_dir));
    EXPECT_TRUE(m);
    absl::StatusOr<v1::Job> job = m->Submit(SmallSpec(1));
    EXPECT_TRUE(job.ok());
    donor = WaitTerminal(*m, job->id());
    EXPECT_EQ(donor.state(), v1::SUCCEEDED);
  }
  std::string id;
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir + "/mt.db");
    EXPECT_TRUE(store.ok()) << store.status();
    absl::StatusOr<int64_t> number = (*store)->NextJobNumber();
    EXPECT_TRUE(number.ok());
    id = "job-00000" + std::to_string(*number);
    absl::StatusOr<std::vector<v1::JobEvent>> donor_events = [&] {
      absl::StatusOr<std::unique_ptr<Store>> ds = Store::Open(donor_dir + "/mt.db");
      return (*ds)->LoadEvents(donor.id());
    }();
    EXPECT_TRUE(donor_events.ok());
    // The donor's state and epoch events only (QUEUED, RUNNING, epoch 1, ...): the history
    // events between them (loss points, the confusion matrix) are not what this crash is about.
    donor_events->erase(std::remove_if(donor_events->begin(), donor_events->end(),
                                       [](const v1::JobEvent& e) {
                                         return !e.has_state() && !e.has_epoch();
                                       }),
                        donor_events->end());
    StoredJob row;
    row.job = donor;
    row.job.set_id(id);
    row.job.mutable_spec()->set_epochs(3);
    row.job.set_state(v1::QUEUED);
    row.job.set_last_seq(1);
    if (logged < 3) {  // epoch 1's event never made it to the log
      row.job.set_epochs_done(0);
      row.job.clear_last_epoch();
      row.job.set_best_epoch(0);
      row.job.set_best_valid_accuracy(0);
    }
    row.queue_order = 1;
    v1::JobEvent e = (*donor_events)[0];  // QUEUED
    e.set_job_id(id);
    EXPECT_TRUE((*store)->InsertJob(row, e).ok());
    row.job.set_state(v1::RUNNING);
    for (int i = 1; i < logged; ++i) {  // RUNNING, epoch 1
      e = (*donor_events)[i];
      e.set_job_id(id);
      e.set_seq(i + 1);  // the donor's own seqs count its history events too
      row.job.set_last_seq(i + 1);
      EXPECT_TRUE((*store)->AppendEvent(row, e).ok());
    }
  }
  fs::create_directories(dir + "/jobs/" + id);
  fs::copy_file(donor_dir + "/jobs/" + donor.id() + "/latest.safetensors",
                dir + "/jobs/" + id + "/latest.safetensors");
  return id;
}

TEST(JobManager, JobRunningAtStartupBecomesInterruptedAndResumesAtTheNextEpoch) {
  const std::string dir = FreshDir("crash");
  const std::string id = CrashedJob(dir, /*logged=*/3);
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
  ASSERT_TRUE(m);
  absl::StatusOr<v1::Job> job = m->Get(id);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state(), v1::INTERRUPTED);
  EXPECT_EQ(job->epochs_done(), 1);
  absl::StatusOr<WatchBatch> log = m->Watch(id, 1, false, 0, milliseconds(0));
  ASSERT_TRUE(log.ok());
  ExpectWellFormed(log->events, id);
  ASSERT_THAT(log->events, SizeIs(4));
  EXPECT_EQ(log->events[3].state().state(), v1::INTERRUPTED);
  EXPECT_THAT(log->events[3].state().message(),
              HasSubstr("daemon stopped while running (last checkpoint: epoch 1)"));

  absl::StatusOr<v1::Job> resumed = m->Resume(id);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE(resumed->state() == v1::QUEUED || resumed->state() == v1::RUNNING);
  Stream s = Follow(*m, id);
  ASSERT_TRUE(s.finished);
  ExpectWellFormed(s.events, id);
  EXPECT_THAT(EpochsOf(s.events), ElementsAre(1, 2, 3));
  EXPECT_THAT(StatesOf(s.events), ElementsAre(v1::QUEUED, v1::RUNNING, v1::INTERRUPTED,
                                              v1::QUEUED, v1::RUNNING, v1::SUCCEEDED));
  v1::Job done = *m->Get(id);
  EXPECT_EQ(done.state(), v1::SUCCEEDED);
  EXPECT_EQ(done.epochs_done(), 3);
  EXPECT_EQ(done.last_epoch().epoch(), 3);
  EXPECT_THAT(s.events.back().state().message(), HasSubstr("finished 3 epochs"));
}

// kill -9 after an epoch's checkpoint was renamed into place but before its event was
// committed: the checkpoint carries the epoch's metrics and recovery records the event.
TEST(JobManager, EpochCheckpointedButNotLoggedIsRecoveredFromTheCheckpoint) {
  const std::string dir = FreshDir("crash_unlogged");
  const std::string id = CrashedJob(dir, /*logged=*/2);  // QUEUED, RUNNING; no epoch event
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
  ASSERT_TRUE(m);
  v1::Job job = *m->Get(id);
  EXPECT_EQ(job.state(), v1::INTERRUPTED);
  EXPECT_EQ(job.epochs_done(), 1);
  EXPECT_EQ(job.best_epoch(), 1);
  absl::StatusOr<WatchBatch> log = m->Watch(id, 1, false, 0, milliseconds(0));
  ASSERT_TRUE(log.ok());
  ExpectWellFormed(log->events, id);
  EXPECT_THAT(EpochsOf(log->events), ElementsAre(1));
  EXPECT_GT(log->events[2].epoch().valid_total(), 0);
  ASSERT_TRUE(m->Resume(id).ok());
  Stream s = Follow(*m, id);
  ASSERT_TRUE(s.finished);
  EXPECT_THAT(EpochsOf(s.events), ElementsAre(1, 2, 3));  // nothing lost, nothing repeated
  EXPECT_EQ(m->Get(id)->epochs_done(), 3);
}

TEST(JobManager, QueuedJobsAreQueuedAgainInTheirOriginalOrder) {
  const std::string dir = FreshDir("requeue");
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir + "/mt.db");
    ASSERT_TRUE(store.ok());
    // job-000001 was resumed after job-000002 was submitted: it queues behind it.
    for (auto [number, order] : {std::pair<int, int>{1, 9}, {2, 4}}) {
      ASSERT_EQ(*(*store)->NextJobNumber(), number);
      StoredJob row;
      row.job.set_id("job-00000" + std::to_string(number));
      v1::JobSpec spec = SmallSpec(100);
      spec.set_model("lenet5");
      spec.set_optimizer("sgd");
      spec.set_learning_rate(0.05);
      spec.set_momentum(0.9);
      spec.set_lr_decay(0.7);
      spec.set_device("cpu");
      *row.job.mutable_spec() = spec;
      row.job.set_state(v1::QUEUED);
      row.job.set_device("cpu");
      row.job.set_last_seq(1);
      row.queue_order = order;
      v1::JobEvent e;
      e.set_job_id(row.job.id());
      e.set_seq(1);
      e.mutable_state()->set_state(v1::QUEUED);
      ASSERT_TRUE((*store)->InsertJob(row, e).ok());
    }
  }
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir, /*max_running=*/1));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->Get("job-000002")->state(), v1::RUNNING);
  absl::StatusOr<v1::Job> waiting = m->Get("job-000001");
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->state(), v1::QUEUED);
  EXPECT_EQ(waiting->waiting_reason(), "waiting for cpu: 1 of 1 slots busy; 1st in queue");
}

}  // namespace
}  // namespace mt::server
