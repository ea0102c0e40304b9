#include "server/lifecycle.h"

#include "gtest/gtest.h"

namespace mt::server {
namespace {

v1::Job Job(v1::JobState state) {
  v1::Job j;
  j.set_id("job-1");
  j.set_state(state);
  j.set_device("cpu");
  j.mutable_spec()->set_epochs(3);
  return j;
}

TEST(Lifecycle, OnlyInterruptedOrCancelledJobsResume) {
  EXPECT_TRUE(CheckResumable(Job(v1::INTERRUPTED)).ok());
  EXPECT_TRUE(CheckResumable(Job(v1::CANCELLED)).ok());
  EXPECT_EQ(CheckResumable(Job(v1::RUNNING)).message(), "job job-1 is already RUNNING");
  EXPECT_EQ(CheckResumable(Job(v1::SUCCEEDED)).message(),
            "job job-1 has SUCCEEDED: all 3 epochs are done; submit a new job to train further");
  v1::Job failed = Job(v1::FAILED);
  failed.set_error("disk full");
  EXPECT_EQ(CheckResumable(failed).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckResumable(failed).message(),
            "job job-1 FAILED (disk full); only INTERRUPTED or CANCELLED jobs can be resumed: "
            "submit a new job");
}

TEST(Lifecycle, Messages) {
  EXPECT_EQ(RunningMessage("cpu", 1, 0), "running on cpu (1 thread)");
  EXPECT_EQ(RunningMessage("cpu", 4, 2), "resumed after epoch 2 on cpu (4 threads)");
  EXPECT_EQ(ResumedMessage(Job(v1::CANCELLED), 2),
            "resumed; queued for cpu; continues after epoch 2");
  EXPECT_EQ(ResumedMessage(Job(v1::CANCELLED), 0),
            "resumed; queued for cpu; no epoch had finished, so it starts from the beginning");
  EXPECT_EQ(CancelledWhileQueuedMessage(0), "cancelled while queued");
  EXPECT_EQ(CancelledWhileQueuedMessage(1), "cancelled while queued (last checkpoint: epoch 1)");
  v1::JobSpec spec;
  spec.set_device("cpu");
  v1::Job job = NewJob("job-9", spec, 1234);
  EXPECT_EQ(job.state(), v1::QUEUED);
  EXPECT_EQ(job.last_seq(), 1);
  EXPECT_EQ(job.created_unix_ms(), 1234);
  EXPECT_EQ(SubmittedMessage(job), "submitted; queued for cpu");
}

TEST(Lifecycle, HowARunEnds) {
  std::string message;
  RunOutcome ok;
  ok.completed_epochs = 2;
  ok.best_valid_accuracy = 0.9876;
  ok.best_epoch = 2;
  EXPECT_EQ(EndedJob(Job(v1::RUNNING), ok, false, false, 0, &message).state(), v1::SUCCEEDED);
  EXPECT_EQ(message, "finished 2 epochs; best valid accuracy 98.76% at epoch 2");

  RunOutcome failed;
  failed.status = absl::NotFoundError("no data");
  v1::Job j = EndedJob(Job(v1::RUNNING), failed, false, false, 0, &message);
  EXPECT_EQ(j.state(), v1::FAILED);
  EXPECT_EQ(j.error(), "no data");
  EXPECT_EQ(message, "no data");

  RunOutcome stopped;
  stopped.cancelled = true;
  stopped.completed_epochs = 1;
  EXPECT_EQ(EndedJob(Job(v1::RUNNING), stopped, true, true, 2, &message).state(), v1::CANCELLED);
  EXPECT_EQ(message, "cancelled during epoch 2 (last checkpoint: epoch 1)");
  EXPECT_EQ(EndedJob(Job(v1::RUNNING), stopped, false, true, 2, &message).state(),
            v1::INTERRUPTED);
  EXPECT_EQ(message,
            "the daemon is shutting down: stopped during epoch 2 (last checkpoint: epoch 1); "
            "`mt-client resume job-1` continues from there");
}

}  // namespace
}  // namespace mt::server

namespace mt::server {
namespace {

TEST(Lifecycle, ALostWorkerInterruptsRatherThanFails) {
  RunOutcome o;
  o.status = absl::UnavailableError("worker rank 1 (pid 7) was killed by signal 9 (Killed)");
  o.interrupted = true;
  o.completed_epochs = 2;
  std::string message;
  v1::Job job = EndedJob(Job(v1::RUNNING), o, /*user_cancelled=*/false, /*shutting_down=*/false,
                         /*epoch_in_progress=*/3, &message);
  EXPECT_EQ(job.state(), v1::INTERRUPTED);
  EXPECT_EQ(message,
            "worker rank 1 (pid 7) was killed by signal 9 (Killed) (last checkpoint: epoch 2); "
            "ResumeJob restarts every worker from there");
  EXPECT_TRUE(CheckResumable(job).ok());

  o.interrupted = false;  // any other error still fails the job
  EXPECT_EQ(EndedJob(Job(v1::RUNNING), o, false, false, 3, &message).state(), v1::FAILED);
}

TEST(Lifecycle, NewJobsCarryTheirWorldSize) {
  v1::JobSpec spec;
  EXPECT_EQ(NewJob("job-1", spec, 0).world_size(), 1);
  spec.set_workers(4);
  EXPECT_EQ(NewJob("job-1", spec, 0).world_size(), 4);
}

}  // namespace
}  // namespace mt::server
