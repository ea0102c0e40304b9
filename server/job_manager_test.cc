// The job manager end to end on a tiny synthetic MNIST written as IDX files: lifecycle and
// events, watchers, cancel/resume, restart and crash recovery, shutdown, and inference from
// checkpoints. Jobs are small (200 training images, 1-3 epochs) and every wait polls against a
// generous deadline; nothing asserts on timing.
#include "server/job_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <thread>

#include "engine/data/mnist_fixture.h"
#include "engine/io/safetensors.h"
#include "common/png.h"
#include "server/store.h"

namespace mt::server {

using io::DecodePngToGray;
using io::EncodeGrayPng;
using io::GrayImage;
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using std::chrono::milliseconds;

constexpr auto kDeadline = std::chrono::seconds(90);

std::string TmpRoot() {
  const char* base = std::getenv("TEST_TMPDIR");
  return base ? base : "/tmp";
}

// A fresh directory for one test's state.
std::string FreshDir(const std::string& name) {
  std::string dir = TmpRoot() + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const data::MnistSplit& TestDigits() {
  static const data::MnistSplit* d = new data::MnistSplit(data::testing::SyntheticDigits(60, 2));
  return *d;
}

// <TEST_TMPDIR>/data/mnist with 240 training and 60 test images, written once per process.
const std::string& DataDir() {
  static const std::string* dir = [] {
    auto* d = new std::string(TmpRoot() + "/data");
    data::testing::WriteMnistIdx(*d, data::testing::SyntheticDigits(240, 1), TestDigits());
    return d;
  }();
  return *dir;
}

Options MakeOptions(const std::string& state_dir, int max_running = 2) {
  Options o;
  o.state_dir = state_dir;
  o.data_dir = DataDir();
  o.max_running_per_device = max_running;
  o.cpu_threads = 1;
  return o;
}

v1::JobSpec SmallSpec(int64_t epochs) {
  v1::JobSpec s;
  s.set_task("mnist");
  s.set_epochs(epochs);
  s.set_batch_size(32);
  s.set_train_size(200);
  s.set_valid_size(50);
  s.set_threads(1);
  s.set_seed(7);
  s.set_momentum(-1);  // the model's default
  return s;
}

std::unique_ptr<JobManager> MustCreate(const Options& o) {
  absl::StatusOr<std::unique_ptr<JobManager>> m = JobManager::Create(o);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

// Polls Get until `pred` holds; fails the test at the deadline.
v1::Job WaitFor(JobManager& m, const std::string& id, const std::function<bool(const v1::Job&)>& pred,
                const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  v1::Job job;
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<v1::Job> j = m.Get(id);
    EXPECT_TRUE(j.ok()) << j.status();
    if (!j.ok()) return job;
    job = *j;
    if (pred(job)) return job;
    std::this_thread::sleep_for(milliseconds(10));
  }
  ADD_FAILURE() << "timed out waiting for " << what << "; job is " << job.DebugString();
  return job;
}

bool Terminal(const v1::Job& j) {
  return j.state() == v1::SUCCEEDED || j.state() == v1::FAILED || j.state() == v1::CANCELLED ||
         j.state() == v1::INTERRUPTED;
}

v1::Job WaitTerminal(JobManager& m, const std::string& id) {
  return WaitFor(m, id, Terminal, "a terminal state");
}

struct Stream {
  std::vector<v1::JobEvent> events;  // persisted events and the final non-persisted one
  int progress = 0;
  bool finished = false;
};

// Follows a job's stream from `from_seq` the way the gRPC glue does, until it finishes.
Stream Follow(JobManager& m, const std::string& id, int64_t from_seq = 1) {
  Stream s;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  int64_t next = from_seq, version = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<WatchBatch> b = m.Watch(id, next, /*follow=*/true, version, milliseconds(200));
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok()) return s;
    for (const v1::JobEvent& e : b->events) {
      s.events.push_back(e);
      next = std::max(next, e.seq() + 1);
    }
    if (b->has_progress) {
      ++s.progress;
      EXPECT_GT(b->progress_version, version);
      EXPECT_TRUE(b->progress.has_progress());
      version = b->progress_version;
    }
    if (b->finished) {
      s.finished = true;
      return s;
    }
  }
  ADD_FAILURE() << "stream of " << id << " did not finish";
  return s;
}

std::vector<std::string> Serialized(const std::vector<v1::JobEvent>& events) {
  std::vector<std::string> out;
  for (const v1::JobEvent& e : events) out.push_back(e.SerializeAsString());
  return out;
}

// Checks what every complete log shares: seqs 1..n without gaps, one terminal event, last.
void ExpectWellFormed(const std::vector<v1::JobEvent>& events, const std::string& id) {
  ASSERT_FALSE(events.empty());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(events[i].job_id(), id);
    EXPECT_FALSE(events[i].has_progress()) << "progress is never persisted";
    EXPECT_EQ(events[i].terminal(), i + 1 == events.size()) << events[i].DebugString();
  }
}

std::vector<int64_t> EpochsOf(const std::vector<v1::JobEvent>& events) {
  std::vector<int64_t> out;
  for (const v1::JobEvent& e : events) {
    if (e.has_epoch()) out.push_back(e.epoch().epoch());
  }
  return out;
}

std::vector<v1::JobState> StatesOf(const std::vector<v1::JobEvent>& events) {
  std::vector<v1::JobState> out;
  for (const v1::JobEvent& e : events) {
    if (e.has_state()) out.push_back(e.state().state());
  }
  return out;
}

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
  const v1::EpochMetrics& last = s.events[3].epoch();
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
  too_big.set_train_size(100000);  // the synthetic split has 240
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

// ---- Inference from checkpoints.

class TrainedJob : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    manager_ = MustCreate(MakeOptions(FreshDir("trained"))).release();
    ASSERT_TRUE(manager_);
    absl::StatusOr<v1::Job> job = manager_->Submit(SmallSpec(2));
    ASSERT_TRUE(job.ok()) << job.status();
    id_ = new std::string(job->id());
    ASSERT_EQ(WaitTerminal(*manager_, *id_).state(), v1::SUCCEEDED);
  }
  static void TearDownTestSuite() {
    delete manager_;
    delete id_;
  }
  static JobManager* manager_;
  static std::string* id_;
};
JobManager* TrainedJob::manager_ = nullptr;
std::string* TrainedJob::id_ = nullptr;

// A clean 28x28 digit of class k, white on black.
GrayImage CleanDigit(int k) {
  GrayImage img;
  img.width = img.height = 28;
  img.pixels.assign(784, 0);
  const int r0 = 2 + (k / 5) * 12, c0 = 2 + (k % 5) * 5;
  for (int r = r0; r < r0 + 4; ++r) {
    for (int c = c0; c < c0 + 4; ++c) img.pixels[r * 28 + c] = 255;
  }
  return img;
}

// Writes an RGB PNG with libpng's own writer (independent of png_decode's encoder).
std::string RgbPng(const GrayImage& gray) {
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(gray.width);
  image.height = static_cast<png_uint_32>(gray.height);
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> rgb;
  for (uint8_t p : gray.pixels) rgb.insert(rgb.end(), {p, p, p});
  png_alloc_size_t size = 0;
  EXPECT_TRUE(png_image_write_to_memory(&image, nullptr, &size, 0, rgb.data(), 0, nullptr));
  std::string out(size, '\0');
  EXPECT_TRUE(png_image_write_to_memory(&image, out.data(), &size, 0, rgb.data(), 0, nullptr));
  out.resize(size);
  return out;
}

TEST_F(TrainedJob, ActivationsHaveTheModelsShapes) {
  ModelInput in;
  in.valid_index = 3;
  absl::StatusOr<ActivationsResult> r = manager_->Activations(*id_, in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->label, TestDigits().labels[3]);
  std::vector<std::pair<std::string, std::vector<int64_t>>> got;
  for (const Activation& a : r->layers) {
    got.emplace_back(a.layer, a.shape);
    int64_t n = 1;
    for (int64_t d : a.shape) n *= d;
    EXPECT_EQ(static_cast<int64_t>(a.data.size()), n) << a.layer;
  }
  using Shape = std::vector<int64_t>;
  EXPECT_THAT(got, ElementsAre(std::pair{std::string("conv1"), Shape{1, 6, 28, 28}},
                               std::pair{std::string("pool1"), Shape{1, 6, 14, 14}},
                               std::pair{std::string("conv2"), Shape{1, 16, 10, 10}},
                               std::pair{std::string("pool2"), Shape{1, 16, 5, 5}},
                               std::pair{std::string("fc1"), Shape{1, 120}},
                               std::pair{std::string("fc2"), Shape{1, 84}},
                               std::pair{std::string("logits"), Shape{1, 10}}));
}

TEST_F(TrainedJob, PredictGivesProbabilitiesThatSumToOne) {
  for (int64_t index : {0, 7, 49}) {
    ModelInput in;
    in.valid_index = index;
    absl::StatusOr<v1::PredictResponse> p = manager_->Predict(*id_, in);
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_EQ(p->probabilities_size(), 10);
    double sum = 0;
    int64_t argmax = 0;
    for (int i = 0; i < 10; ++i) {
      EXPECT_GE(p->probabilities(i), 0);
      sum += p->probabilities(i);
      if (p->probabilities(i) > p->probabilities(argmax)) argmax = i;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(p->predicted_class(), argmax);
    EXPECT_EQ(p->label(), TestDigits().labels[index]);
    EXPECT_EQ(p->checkpoint_epoch(), 2);
  }
}

TEST_F(TrainedJob, BadInputsAreRejectedClearly) {
  ModelInput in;
  in.valid_index = 50;  // valid_size is 50
  absl::Status s = manager_->Predict(*id_, in).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  EXPECT_THAT(s.message(), HasSubstr("50 examples"));
  in.valid_index = -1;
  EXPECT_EQ(manager_->Predict(*id_, in).status().code(), absl::StatusCode::kOutOfRange);

  ModelInput text;
  text.kind = ModelInput::Kind::kText;
  text.text = "a fine film";
  s = manager_->Predict(*id_, text).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("mnist"));

  ModelInput png;
  png.kind = ModelInput::Kind::kImagePng;
  png.image_png = "not a png";
  EXPECT_EQ(manager_->Predict(*id_, png).status().code(), absl::StatusCode::kInvalidArgument);
  GrayImage small;
  small.width = small.height = 10;
  small.pixels.assign(100, 0);
  png.image_png = *EncodeGrayPng(small);
  s = manager_->Predict(*id_, png).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("28x28"));

  // A valid header claiming 50000x50000: refused from the header, before a 10 GB buffer.
  std::string huge = *EncodeGrayPng(small);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) huge[at + i] = static_cast<char>(v >> (24 - 8 * i));
  };
  put32(16, 50000);  // IHDR width
  put32(20, 50000);  // IHDR height
  put32(29, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(huge.data() + 12), 17)));
  png.image_png = huge;
  s = manager_->Predict(*id_, png).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("50000x50000"));

  EXPECT_EQ(manager_->Predict("job-999999", in).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TrainedJob, PngInputGrayOrRgbGivesTheSamePrediction) {
  GrayImage digit = CleanDigit(3);
  ModelInput gray, rgb;
  gray.kind = rgb.kind = ModelInput::Kind::kImagePng;
  absl::StatusOr<std::string> gray_png = EncodeGrayPng(digit);
  ASSERT_TRUE(gray_png.ok());
  gray.image_png = *gray_png;
  rgb.image_png = RgbPng(digit);
  absl::StatusOr<v1::PredictResponse> a = manager_->Predict(*id_, gray);
  absl::StatusOr<v1::PredictResponse> b = manager_->Predict(*id_, rgb);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->label(), -1);
  EXPECT_EQ(a->predicted_class(), b->predicted_class());
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(a->probabilities(i), b->probabilities(i));
  absl::StatusOr<ActivationsResult> acts = manager_->Activations(*id_, rgb);
  ASSERT_TRUE(acts.ok()) << acts.status();
  EXPECT_EQ(acts->label, -1);
  EXPECT_EQ(acts->layers.front().layer, "conv1");
}

TEST_F(TrainedJob, ExportHasTheWeightsButNoOptimiserState) {
  absl::StatusOr<std::string> bytes = manager_->Export(*id_);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<io::TensorFile> file = io::DecodeSafetensors(*bytes, "export");
  ASSERT_TRUE(file.ok()) << file.status();
  bool has_conv1 = false;
  for (const auto& [name, t] : file->tensors) {
    EXPECT_NE(name.rfind("optim.", 0), 0u) << name;
    if (name == "conv1.weight") {
      has_conv1 = true;
      EXPECT_EQ(t.shape(), (std::vector<int64_t>{6, 1, 5, 5}));
    }
  }
  EXPECT_TRUE(has_conv1);
  EXPECT_EQ(file->metadata.at("format"), "pt");
  EXPECT_EQ(file->metadata.at("mt.task"), "mnist");
  EXPECT_EQ(file->metadata.at("mt.model"), "lenet5");
  EXPECT_EQ(file->metadata.at("mt.epoch"), "2");
  EXPECT_EQ(file->metadata.count("mt.rng.shuffle"), 0u);
}

// ---- SST-2: the vocabulary travels in the checkpoint; text and held-out inputs.

TEST(JobManager, Sst2JobPredictsFromTextWithTheCheckpointsVocabulary) {
  const std::string data = FreshDir("sst2_data");
  fs::create_directories(data + "/sst2");
  const std::vector<std::pair<std::string, int>> phrases = {
      {"a great and moving film", 1}, {"dull , tedious and flat", 0},
      {"wonderful acting", 1},        {"a boring mess", 0},
      {"great fun", 1},               {"flat and lifeless", 0},
      {"moving and wonderful", 1},    {"tedious", 0}};
  {
    std::ofstream train(data + "/sst2/train.tsv");
    train << "sentence\tlabel\n";
    for (int rep = 0; rep < 4; ++rep) {
      for (const auto& [text, label] : phrases) train << text << " \t" << label << "\n";
    }
    std::ofstream dev(data + "/sst2/dev.tsv");
    dev << "sentence\tlabel\n"
        << "a great film \t1\n"
        << "a dull mess \t0\n"
        << "wonderful unseenword \t1\n";
  }
  Options o = MakeOptions(FreshDir("sst2"));
  o.data_dir = data;
  std::unique_ptr<JobManager> m = MustCreate(o);
  ASSERT_TRUE(m);
  v1::JobSpec spec;
  spec.set_task("sst2");
  spec.set_epochs(1);
  spec.set_batch_size(8);
  spec.set_embedding_dim(16);
  spec.set_threads(1);
  spec.set_momentum(-1);
  absl::StatusOr<v1::Job> job = m->Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec().model(), "kim_cnn");
  ASSERT_EQ(WaitTerminal(*m, job->id()).state(), v1::SUCCEEDED)
      << m->Get(job->id())->error();

  ModelInput text;
  text.kind = ModelInput::Kind::kText;
  text.text = "A Great film with an unseenword";
  absl::StatusOr<v1::PredictResponse> p = m->Predict(job->id(), text);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->probabilities_size(), 2);
  EXPECT_NEAR(p->probabilities(0) + p->probabilities(1), 1.0, 1e-5);
  EXPECT_EQ(p->label(), -1);

  ModelInput held_out;
  held_out.valid_index = 1;
  p = m->Predict(job->id(), held_out);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->label(), 0);
  held_out.valid_index = 3;
  EXPECT_EQ(m->Predict(job->id(), held_out).status().code(), absl::StatusCode::kOutOfRange);

  absl::StatusOr<ActivationsResult> acts = m->Activations(job->id(), text);
  ASSERT_TRUE(acts.ok()) << acts.status();
  ASSERT_FALSE(acts->layers.empty());
  EXPECT_EQ(acts->layers.front().layer, "embedding");
  EXPECT_EQ(acts->layers.back().layer, "logits");
  EXPECT_EQ(acts->layers.back().shape, (std::vector<int64_t>{1, 2}));

  ModelInput png;
  png.kind = ModelInput::Kind::kImagePng;
  png.image_png = *EncodeGrayPng(CleanDigit(1));
  EXPECT_EQ(m->Predict(job->id(), png).status().code(), absl::StatusCode::kInvalidArgument);
  text.text = "   ";
  EXPECT_EQ(m->Predict(job->id(), text).status().code(), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::string> bytes = m->Export(job->id());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<io::TensorFile> file = io::DecodeSafetensors(*bytes, "export");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata.at("mt.model"), "kim_cnn");
  EXPECT_EQ(file->metadata.at("mt.vocab").rfind("<pad>\n<unk>\n", 0), 0u);
}

// ---- PNG decoding.

TEST(PngDecode, GrayRgbAndAlpha) {
  GrayImage digit = CleanDigit(7);
  digit.pixels[0] = 17;
  absl::StatusOr<GrayImage> g = DecodePngToGray(*EncodeGrayPng(digit));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->pixels, digit.pixels);
  g = DecodePngToGray(RgbPng(digit));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->pixels, digit.pixels);

  // Pure red → PIL's luma 76; half-transparent white → 128 on black.
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  image.width = 2;
  image.height = 1;
  image.format = PNG_FORMAT_RGBA;
  const uint8_t px[] = {255, 0, 0, 255, 255, 255, 255, 128};
  png_alloc_size_t size = 0;
  ASSERT_TRUE(png_image_write_to_memory(&image, nullptr, &size, 0, px, 0, nullptr));
  std::string bytes(size, '\0');
  ASSERT_TRUE(png_image_write_to_memory(&image, bytes.data(), &size, 0, px, 0, nullptr));
  bytes.resize(size);
  g = DecodePngToGray(bytes);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->width, 2);
  EXPECT_THAT(g->pixels, ElementsAre(76, 128));

  EXPECT_EQ(DecodePngToGray("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt::server
