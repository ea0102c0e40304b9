// The job manager end to end on a tiny synthetic MNIST written as IDX files: lifecycle and
// events, watchers, cancel, invalid specs, failures and shutdown. Jobs are small (200 training
// images, 1-3 epochs) and every wait polls against a generous deadline; nothing asserts on
// timing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <numeric>
#include <thread>

#include "server/job_manager.h"
#include "server/job_manager_test_util.h"

namespace mt::server {
namespace {

namespace fs = std::filesystem;
using namespace ::mt::server::jm_testing;  // the shared fixture: data, specs, waits, streams
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------

TEST(JobManager, SubmittedJobRunsToSucceededWithOneEventPerEpoch) {
  const std::string dir = FreshDir("succeeds");
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
  ASSERT_TRUE(m);
  absl::StatusOr<v1::Job> job = m->Submit(SmallSpec(2));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_THAT(job->id(), ::testing::MatchesRegex("job-[0-9]{6}"));
  EXPECT_TRUE(job->state() == v1::QUEUED || job->state() == v1::RUNNING) << job->DebugString();
  EXPECT_EQ(job->device(), "cpu");
  // Defaults filled in.
  EXPECT_EQ(job->spec().model(), "lenet5");
  EXPECT_EQ(job->spec().optimizer(), "sgd");
  EXPECT_GT(job->spec().learning_rate(), 0);
  EXPECT_GT(job->spec().momentum(), 0);
  EXPECT_EQ(job->spec().device(), "cpu");
  EXPECT_EQ(job->spec().threads(), 1);

  Stream s = Follow(*m, job->id());
  ASSERT_TRUE(s.finished);
  ExpectWellFormed(s.events, job->id());
  EXPECT_THAT(StatesOf(s.events), ElementsAre(v1::QUEUED, v1::RUNNING, v1::SUCCEEDED));
  EXPECT_THAT(EpochsOf(s.events), ElementsAre(1, 2));
  EXPECT_EQ(s.events[1].state().message(), "running on cpu (1 thread)");
  // The last epoch's event (history events, e.g. each epoch's confusion matrix, come between).
  const auto last_epoch_event = std::find_if(s.events.rbegin(), s.events.rend(),
                                             [](const v1::JobEvent& e) { return e.has_epoch(); });
  ASSERT_NE(last_epoch_event, s.events.rend());
  const v1::EpochMetrics& last = last_epoch_event->epoch();
  EXPECT_EQ(last.epoch(), 2);
  EXPECT_EQ(last.valid_total(), 50);
  EXPECT_GT(last.samples_per_second(), 0);

  absl::StatusOr<v1::Job> done = m->Get(job->id());
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state(), v1::SUCCEEDED);
  EXPECT_EQ(done->epochs_done(), 2);
  EXPECT_EQ(done->last_epoch().epoch(), 2);
  EXPECT_GE(done->best_epoch(), 1);
  EXPECT_EQ(done->last_seq(), static_cast<int64_t>(s.events.size()));
  EXPECT_TRUE(done->error().empty());
  EXPECT_TRUE(done->waiting_reason().empty());
  EXPECT_GE(done->updated_unix_ms(), done->created_unix_ms());
  EXPECT_TRUE(fs::exists(dir + "/jobs/" + job->id() + "/latest.safetensors"));
  EXPECT_TRUE(fs::exists(dir + "/jobs/" + job->id() + "/epoch-2.safetensors"));

  EXPECT_THAT(m->List(v1::JOB_STATE_UNSPECIFIED), SizeIs(1));
  EXPECT_THAT(m->List(v1::SUCCEEDED), SizeIs(1));
  EXPECT_THAT(m->List(v1::RUNNING), SizeIs(0));
  std::vector<v1::Device> devices = m->Devices();
  ASSERT_THAT(devices, SizeIs(1));
  EXPECT_EQ(devices[0].name(), "cpu");
  EXPECT_EQ(devices[0].kind(), "cpu");
  EXPECT_GT(devices[0].cores(), 0);
  EXPECT_GT(devices[0].memory_bytes(), 0);
  EXPECT_EQ(devices[0].max_running(), 2);
  EXPECT_EQ(devices[0].running(), 0);
  EXPECT_EQ(devices[0].queued(), 0);
}

TEST(JobManager, WatchersSeeTheSameEventsLiveLateAndFromTheMiddle) {
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(FreshDir("watchers")));
  ASSERT_TRUE(m);
  absl::StatusOr<v1::Job> job = m->Submit(SmallSpec(2));
  ASSERT_TRUE(job.ok()) << job.status();
  Stream a, b;
  std::thread ta([&] { a = Follow(*m, job->id()); });
  std::thread tb([&] { b = Follow(*m, job->id()); });
  ta.join();
  tb.join();
  Stream late = Follow(*m, job->id());
  ASSERT_TRUE(a.finished && b.finished && late.finished);
  ExpectWellFormed(a.events, job->id());
  EXPECT_EQ(Serialized(a.events), Serialized(b.events));
  EXPECT_EQ(Serialized(a.events), Serialized(late.events));
  EXPECT_EQ(late.progress, 0) << "a finished job has no live progress";

  // From the middle: exactly the suffix.
  Stream mid = Follow(*m, job->id(), 3);
  std::vector<v1::JobEvent> suffix(a.events.begin() + 2, a.events.end());
  EXPECT_EQ(Serialized(mid.events), Serialized(suffix));

  // Without follow: a replay that ends.
  absl::StatusOr<WatchBatch> replay = m->Watch(job->id(), 1, false, 0, milliseconds(0));
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->finished);
  EXPECT_EQ(Serialized(replay->events), Serialized(a.events));
  // Nothing after the end, and the stream is over.
  const int64_t last = a.events.back().seq();
  absl::StatusOr<WatchBatch> after = m->Watch(job->id(), last + 1, true, 0, milliseconds(10));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->events.empty());
  EXPECT_TRUE(after->finished);

  EXPECT_EQ(m->Watch(job->id(), 0, true, 0, milliseconds(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status beyond = m->Watch(job->id(), last + 2, true, 0, milliseconds(0)).status();
  EXPECT_EQ(beyond.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(beyond.message(), HasSubstr("from_seq"));
  EXPECT_EQ(m->Watch("job-999999", 1, true, 0, milliseconds(0)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(JobManager, CancelQueuedAndRunningJobsIdempotently) {
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(FreshDir("cancel"), /*max_running=*/1));
  ASSERT_TRUE(m);
  absl::StatusOr<v1::Job> first = m->Submit(SmallSpec(200));
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<v1::Job> second = m->Submit(SmallSpec(1));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->state(), v1::QUEUED);
  EXPECT_EQ(second->waiting_reason(), "waiting for cpu: 1 of 1 slots busy; 1st in queue");
  absl::StatusOr<v1::Job> third = m->Submit(SmallSpec(1));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->waiting_reason(), "waiting for cpu: 1 of 1 slots busy; 2nd in queue");
  EXPECT_EQ(m->Devices()[0].queued(), 2);
  EXPECT_EQ(m->Devices()[0].running(), 1);

  // Queued: cancelled at once, and the queue closes up.
  absl::StatusOr<v1::Job> c = m->Cancel(second->id());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->state(), v1::CANCELLED);
  absl::StatusOr<v1::Job> again = m->Cancel(second->id());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->SerializeAsString(), c->SerializeAsString()) << "cancel is idempotent";
  EXPECT_EQ(m->Get(third->id())->waiting_reason(),
            "waiting for cpu: 1 of 1 slots busy; 1st in queue");
  absl::StatusOr<WatchBatch> log = m->Watch(second->id(), 1, false, 0, milliseconds(0));
  ASSERT_TRUE(log.ok());
  ExpectWellFormed(log->events, second->id());
  EXPECT_THAT(StatesOf(log->events), ElementsAre(v1::QUEUED, v1::CANCELLED));

  // Running: live batch progress for followers, never persisted, carrying the last seq.
  WaitFor(*m, first->id(), [](const v1::Job& j) { return j.epochs_done() >= 1; }, "epoch 1");
  {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    bool seen = false;
    while (!seen && std::chrono::steady_clock::now() < deadline) {
      const int64_t last = m->Get(first->id())->last_seq();
      absl::StatusOr<WatchBatch> b = m->Watch(first->id(), last + 1, true, 0, milliseconds(500));
      ASSERT_TRUE(b.ok()) << b.status();
      if (!b->has_progress || !b->events.empty()) continue;
      seen = true;
      EXPECT_EQ(b->progress.seq(), last);
      EXPECT_EQ(b->progress.progress().num_batches(), 7);  // 200 images in batches of 32
      EXPECT_GE(b->progress.progress().epoch(), 2);
      EXPECT_GT(b->progress_version, 0);
      EXPECT_FALSE(b->finished);
    }
    EXPECT_TRUE(seen);
  }
  // Running: stops between batches; Cancel returns once it has.
  c = m->Cancel(first->id());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->state(), v1::CANCELLED);
  EXPECT_LT(c->epochs_done(), 200);
  again = m->Cancel(first->id());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->SerializeAsString(), c->SerializeAsString());
  log = m->Watch(first->id(), 1, false, 0, milliseconds(0));
  ASSERT_TRUE(log.ok());
  ExpectWellFormed(log->events, first->id());
  EXPECT_THAT(log->events.back().state().message(), HasSubstr("cancelled"));

  // The freed slot goes to the next in line.
  v1::Job t = WaitTerminal(*m, third->id());
  EXPECT_EQ(t.state(), v1::SUCCEEDED);

  // Resuming the cancelled job continues after its last checkpoint, at the next epoch.
  const int64_t done = c->epochs_done();
  absl::StatusOr<v1::Job> r = m->Resume(first->id());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(m->Resume(first->id()).status().message(), HasSubstr("already"));
  WaitFor(*m, first->id(), [&](const v1::Job& j) { return j.epochs_done() > done; },
          "an epoch after the resume");
  c = m->Cancel(first->id());
  ASSERT_TRUE(c.ok());
  log = m->Watch(first->id(), 1, false, 0, milliseconds(0));
  ASSERT_TRUE(log.ok());
  ExpectWellFormed(log->events, first->id());  // the earlier CANCELLED is no longer terminal
  std::vector<int64_t> epochs = EpochsOf(log->events);
  std::vector<int64_t> want(epochs.size());
  std::iota(want.begin(), want.end(), 1);
  EXPECT_EQ(epochs, want) << "no epoch repeated or skipped across the resume";
  bool saw_resumed = false;
  for (const v1::JobEvent& e : log->events) {
    if (e.has_state() && e.state().state() == v1::RUNNING &&
        e.state().message().find("resumed after epoch " + std::to_string(done)) == 0) {
      saw_resumed = true;
    }
  }
  EXPECT_TRUE(saw_resumed);
  EXPECT_EQ(m->Cancel("job-999999").status().code(), absl::StatusCode::kNotFound);
}

// A caller's deadline bounds how long Cancel waits for a running job to stop; the
// cancellation stands and the job still ends CANCELLED.
TEST(JobManager, CancelWaitsForARunningJobOnlyUntilTheDeadline) {
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(FreshDir("cancel_deadline")));
  ASSERT_TRUE(m);
  absl::StatusOr<v1::Job> job = m->Submit(SmallSpec(500));
  ASSERT_TRUE(job.ok()) << job.status();
  WaitFor(*m, job->id(), [](const v1::Job& j) { return j.state() == v1::RUNNING; }, "RUNNING");
  absl::StatusOr<v1::Job> c = m->Cancel(job->id(), std::chrono::steady_clock::now());
  // The job may stop within the instant the check takes; otherwise the deadline answers.
  if (!c.ok()) {
    EXPECT_EQ(c.status().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_THAT(c.status().message(), HasSubstr("is still stopping"));
  }
  EXPECT_EQ(WaitTerminal(*m, job->id()).state(), v1::CANCELLED);
}

TEST(JobManager, InvalidSpecsAreRejectedNamingTheField) {
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(FreshDir("invalid")));
  ASSERT_TRUE(m);
  struct Case {
    std::string field;
    std::function<void(v1::JobSpec*)> mutate;
  };
  const std::vector<Case> cases = {
      {"task", [](v1::JobSpec* s) { s->set_task("cifar10"); }},
      {"model", [](v1::JobSpec* s) { s->set_model("vgg"); }},
      {"epochs", [](v1::JobSpec* s) { s->set_epochs(-2); }},
      {"batch_size", [](v1::JobSpec* s) { s->set_batch_size(-1); }},
      {"learning_rate", [](v1::JobSpec* s) { s->set_learning_rate(100); }},
      {"optimizer", [](v1::JobSpec* s) { s->set_optimizer("lbfgs"); }},
      {"train_size", [](v1::JobSpec* s) { s->set_train_size(-1); }},
      {"valid_size", [](v1::JobSpec* s) { s->set_valid_size(-1); }},
      {"device", [](v1::JobSpec* s) { s->set_device("cuda:0"); }},
      {"threads", [](v1::JobSpec* s) { s->set_threads(-4); }},
      {"momentum", [](v1::JobSpec* s) { s->set_momentum(1); }},
      {"lr_decay", [](v1::JobSpec* s) { s->set_lr_decay(-0.5); }},
      {"embeddings_file",
       [](v1::JobSpec* s) {
         s->set_task("sst2");
         s->set_model("");
         s->set_embeddings_file("/nonexistent/glove.6B.50d.txt");
       }},
  };
  for (const Case& c : cases) {
    v1::JobSpec spec = SmallSpec(1);
    c.mutate(&spec);
    absl::StatusOr<v1::Job> r = m->Submit(spec);
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("invalid " + c.field + " '")) << r.status();
  }
  v1::JobSpec cuda = SmallSpec(1);
  cuda.set_device("cuda:0");
  EXPECT_THAT(m->Submit(cuda).status().message(), HasSubstr("available devices: cpu"));
  EXPECT_THAT(m->List(v1::JOB_STATE_UNSPECIFIED), SizeIs(0)) << "nothing was created";
  v1::JobSpec ok = SmallSpec(1);
  ok.set_device("auto");
  absl::StatusOr<v1::Job> r = m->Submit(ok);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->device(), "cpu");
}

TEST(JobManager, FailuresAreReportedInTheJobAndItsLastEvent) {
  const std::string dir = FreshDir("failures");
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
  ASSERT_TRUE(m);
  v1::JobSpec too_big = SmallSpec(1);
  // Within the published split (60000, checked at submit) but beyond the synthetic one (240):
  // found when the job loads its data.
  too_big.set_train_size(50000);
  absl::StatusOr<v1::Job> job = m->Submit(too_big);
  ASSERT_TRUE(job.ok()) << job.status();
  v1::Job failed = WaitTerminal(*m, job->id());
  EXPECT_EQ(failed.state(), v1::FAILED);
  EXPECT_THAT(failed.error(), HasSubstr("train_size"));
  absl::StatusOr<WatchBatch> log = m->Watch(job->id(), 1, false, 0, milliseconds(0));
  ASSERT_TRUE(log.ok());
  ExpectWellFormed(log->events, job->id());
  EXPECT_EQ(log->events.back().state().state(), v1::FAILED);
  EXPECT_EQ(log->events.back().state().message(), failed.error());
  absl::Status resume = m->Resume(job->id()).status();
  EXPECT_EQ(resume.code(), absl::StatusCode::kFailedPrecondition);
  // No epoch finished, so there is nothing to run or export.
  ModelInput in;
  absl::Status predict = m->Predict(job->id(), in).status();
  EXPECT_EQ(predict.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(predict.message(),
            "no checkpoint yet: job " + job->id() + " has not finished an epoch");
  EXPECT_EQ(m->Export(job->id()).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m->Activations(job->id(), in).status().code(), absl::StatusCode::kFailedPrecondition);
  m.reset();

  // No datasets where the daemon looks: the error says where it looked and what to do.
  Options o = MakeOptions(FreshDir("failures_nodata"));
  o.data_dir = TmpRoot() + "/no_such_data";
  m = MustCreate(o);
  ASSERT_TRUE(m);
  job = m->Submit(SmallSpec(1));
  ASSERT_TRUE(job.ok());
  failed = WaitTerminal(*m, job->id());
  EXPECT_EQ(failed.state(), v1::FAILED);
  EXPECT_THAT(failed.error(), HasSubstr("fetch_data.sh"));
}

TEST(JobManager, ShutdownInterruptsRunningJobsAndEndsEveryStream) {
  const std::string dir = FreshDir("shutdown");
  std::string running_id, queued_id;
  {
    std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir, /*max_running=*/1));
    ASSERT_TRUE(m);
    absl::StatusOr<v1::Job> running = m->Submit(SmallSpec(200));
    absl::StatusOr<v1::Job> queued = m->Submit(SmallSpec(1));
    ASSERT_TRUE(running.ok() && queued.ok());
    running_id = running->id();
    queued_id = queued->id();
    WaitFor(*m, running_id, [](const v1::Job& j) { return j.epochs_done() >= 1; }, "epoch 1");
    Stream rs, qs;
    std::thread tr([&] { rs = Follow(*m, running_id); });
    std::thread tq([&] { qs = Follow(*m, queued_id); });
    // Let both watchers block in Watch (they return as soon as shutdown starts either way).
    std::this_thread::sleep_for(milliseconds(100));
    m->Shutdown();
    m->Shutdown();  // idempotent
    tr.join();
    tq.join();

    ASSERT_TRUE(rs.finished);
    ExpectWellFormed(rs.events, running_id);
    EXPECT_EQ(rs.events.back().state().state(), v1::INTERRUPTED);
    EXPECT_THAT(rs.events.back().state().message(), HasSubstr("shutting down"));
    EXPECT_EQ(m->Get(running_id)->state(), v1::INTERRUPTED);

    // The queued job stays queued (in the database too); its stream ends with a terminal event
    // that is not persisted and carries the last persisted seq.
    ASSERT_TRUE(qs.finished);
    ASSERT_GE(qs.events.size(), 2u);
    const v1::JobEvent& bye = qs.events.back();
    EXPECT_TRUE(bye.terminal());
    EXPECT_THAT(bye.state().message(), HasSubstr("shutting down"));
    EXPECT_EQ(bye.seq(), qs.events[qs.events.size() - 2].seq());
    absl::StatusOr<v1::Job> q = m->Get(queued_id);
    EXPECT_EQ(q->state(), v1::QUEUED);
    EXPECT_EQ(q->last_seq(), bye.seq());
    EXPECT_THAT(q->waiting_reason(), HasSubstr("shutting down"));

    EXPECT_EQ(m->Submit(SmallSpec(1)).status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(m->Resume(running_id).status().code(), absl::StatusCode::kUnavailable);
  }
  // After a restart: the interrupted job keeps its log (terminal persisted) and the queued job
  // runs.
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir, /*max_running=*/1));
  ASSERT_TRUE(m);
  absl::StatusOr<WatchBatch> log = m->Watch(running_id, 1, false, 0, milliseconds(0));
  ASSERT_TRUE(log.ok());
  ExpectWellFormed(log->events, running_id);
  EXPECT_EQ(log->events.back().state().state(), v1::INTERRUPTED);
  EXPECT_EQ(WaitTerminal(*m, queued_id).state(), v1::SUCCEEDED);
}

}  // namespace
}  // namespace mt::server
