// Integration tests: a real daemon (job manager + gRPC server) on a loopback ephemeral port, a
// real gRPC client, real files. Covers the issue's list: follow to the terminal event, identical
// sequences for concurrent and late followers, cancel, restart (graceful and SIGKILL) with
// history intact and resume, activations, predict, export, and bad requests.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/allocator.h"
#include "engine/data/mnist_fixture.h"
#include "engine/io/safetensors.h"
#include "proto/training.grpc.pb.h"
#include "server/service.h"
#include "tests/server/fixtures.h"

namespace mt::server {
namespace {

using v1::JobEvent;
using v1::JobState;

// A PNG claiming width x height (8-bit gray) with no pixel data at all (an empty IDAT): the
// daemon must refuse it from the header, before decoding (or allocating) any pixels.
std::string PngHeaderOnly(uint32_t width, uint32_t height) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  auto chunk = [&](const std::string& type_and_data) {
    uint32_t crc = 0xffffffffu;  // CRC-32 (PNG's), over the chunk type and data
    for (unsigned char ch : type_and_data) {
      crc ^= ch;
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return be32(static_cast<uint32_t>(type_and_data.size() - 4)) + type_and_data +
           be32(crc ^ 0xffffffffu);
  };
  return std::string("\x89PNG\r\n\x1a\n", 8) +
         chunk("IHDR" + be32(width) + be32(height) + std::string("\x08\x00\x00\x00\x00", 5)) +
         chunk("IDAT") + chunk("IEND");
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = testing::FreshDir("data");
    data::testing::WriteMnistIdx(data_dir_, data::testing::SyntheticDigits(256, 1),
                                 data::testing::SyntheticDigits(64, 2));
    state_dir_ = testing::FreshDir("state");
    Start();
  }

  void Start(int max_running = 1) {
    Options o;
    o.state_dir = state_dir_;
    o.data_dir = data_dir_;
    o.max_running_per_device = max_running;
    o.cpu_threads = 1;
    o.inference_limits = limits_;
    absl::StatusOr<std::unique_ptr<Daemon>> d = Daemon::Start(o, "127.0.0.1:0");
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = std::move(*d);
    ASSERT_GT(daemon_->port(), 0);
    Connect(daemon_->port());
  }

  void Connect(int port) {
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::TrainingService::NewStub(channel_);
  }

  v1::JobSpec SmallSpec(int epochs = 2) {
    v1::JobSpec s;
    s.set_task("mnist");
    s.set_model("lenet5");
    s.set_epochs(epochs);
    s.set_batch_size(32);
    s.set_threads(1);
    return s;
  }

  v1::Job Submit(const v1::JobSpec& spec) {
    grpc::ClientContext ctx;
    v1::SubmitJobRequest req;
    *req.mutable_spec() = spec;
    v1::Job job;
    grpc::Status s = stub_->SubmitJob(&ctx, req, &job);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return job;
  }

  grpc::Status Call(const std::function<grpc::Status(grpc::ClientContext*)>& f) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return f(&ctx);
  }

  v1::Job GetJob(const std::string& id) {
    v1::Job job;
    v1::GetJobRequest req;
    req.set_job_id(id);
    grpc::Status s = Call([&](grpc::ClientContext* c) { return stub_->GetJob(c, req, &job); });
    EXPECT_TRUE(s.ok()) << s.error_message();
    return job;
  }

  // Follows a job's stream to its end; returns every event received (progress included).
  std::vector<JobEvent> Follow(const std::string& id, int64_t from_seq = 1, bool follow = true,
                               grpc::Status* status = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(240));
    v1::WatchJobRequest req;
    req.set_job_id(id);
    req.set_from_seq(from_seq);
    req.set_follow(follow);
    auto reader = stub_->WatchJob(&ctx, req);
    std::vector<JobEvent> events;
    JobEvent e;
    while (reader->Read(&e)) events.push_back(e);
    grpc::Status s = reader->Finish();
    if (status) *status = s;
    return events;
  }

  static std::vector<JobEvent> Persisted(const std::vector<JobEvent>& events) {
    std::vector<JobEvent> out;
    for (const JobEvent& e : events) {
      if (e.kind_case() != JobEvent::kProgress) out.push_back(e);
    }
    return out;
  }

  v1::Job WaitForState(const std::string& id, JobState want, int seconds = 240) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    v1::Job j;
    while (std::chrono::steady_clock::now() < deadline) {
      j = GetJob(id);
      if (j.state() == want) return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " never reached " << v1::JobState_Name(want) << "; it is "
                  << v1::JobState_Name(j.state());
    return j;
  }

  // A tiny SST-2 (train.tsv, dev.tsv) beside the MNIST files, for text inference.
  static void WriteSst2(const std::string& dir) {
    std::filesystem::create_directories(dir + "/sst2");
    std::ofstream train(dir + "/sst2/train.tsv");
    train << "sentence\tlabel\n";
    for (int rep = 0; rep < 4; ++rep) {
      train << "a great and moving film \t1\n"
            << "dull , tedious and flat \t0\n"
            << "wonderful acting \t1\n"
            << "a boring mess \t0\n";
    }
    std::ofstream dev(dir + "/sst2/dev.tsv");
    dev << "sentence\tlabel\n"
        << "a great film \t1\n"
        << "a dull mess \t0\n";
  }

  v1::JobSpec Sst2Spec() {
    v1::JobSpec s;
    s.set_task("sst2");
    s.set_epochs(1);
    s.set_batch_size(8);
    s.set_embedding_dim(16);
    s.set_threads(1);
    return s;
  }

  // `n` copies of "a " (n tokens, 2n bytes).
  static std::string Words(int64_t n) {
    std::string out;
    out.reserve(static_cast<size_t>(2 * n));
    for (int64_t i = 0; i < n; ++i) out += "a ";
    return out;
  }

  grpc::Status PredictText(const std::string& id, const std::string& text) {
    v1::PredictRequest pr;
    pr.set_job_id(id);
    pr.set_text(text);
    v1::PredictResponse resp;
    return Call([&](grpc::ClientContext* c) { return stub_->Predict(c, pr, &resp); });
  }

  grpc::Status ActivationsText(const std::string& id, const std::string& text) {
    v1::ActivationsRequest ar;
    ar.set_job_id(id);
    ar.set_text(text);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    auto reader = stub_->GetActivations(&ctx, ar);
    v1::ActivationChunk c;
    while (reader->Read(&c)) {
    }
    return reader->Finish();
  }

  void ExpectServing() {
    v1::ListDevicesRequest dr;
    v1::ListDevicesResponse devices;
    ASSERT_TRUE(
        Call([&](grpc::ClientContext* c) { return stub_->ListDevices(c, dr, &devices); }).ok())
        << "the daemon stopped serving";
    ASSERT_GE(devices.devices_size(), 1);
  }

  InferenceLimits limits_;
  std::string data_dir_, state_dir_;
  std::unique_ptr<Daemon> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TrainingService::Stub> stub_;
};

TEST_F(DaemonTest, SubmitAndFollowToTheTerminalEvent) {
  v1::Job job = Submit(SmallSpec(2));
  EXPECT_FALSE(job.id().empty());
  EXPECT_EQ(job.spec().optimizer(), "sgd");  // defaults filled in
  grpc::Status s;
  std::vector<JobEvent> all = Follow(job.id(), 1, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<JobEvent> events = Persisted(all);
  ASSERT_FALSE(events.empty());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq(), static_cast<int64_t>(i + 1)) << "gap or duplicate";
    EXPECT_EQ(events[i].terminal(), i + 1 == events.size());
  }
  ASSERT_TRUE(events.back().has_state());
  EXPECT_EQ(events.back().state().state(), v1::SUCCEEDED);
  int epochs = 0;
  for (const JobEvent& e : events) {
    if (e.has_epoch()) {
      ++epochs;
      EXPECT_EQ(e.epoch().epoch(), epochs);
      EXPECT_EQ(e.epoch().valid_total(), 64);
      EXPECT_GT(e.epoch().samples_per_second(), 0);
    }
  }
  EXPECT_EQ(epochs, 2);
  v1::Job done = GetJob(job.id());
  EXPECT_EQ(done.state(), v1::SUCCEEDED);
  EXPECT_EQ(done.epochs_done(), 2);
  EXPECT_EQ(done.last_seq(), events.back().seq());
}

TEST_F(DaemonTest, ConcurrentAndLateFollowersSeeIdenticalSequences) {
  v1::Job job = Submit(SmallSpec(2));
  std::vector<JobEvent> a, b;
  std::thread ta([&] { a = Persisted(Follow(job.id())); });
  std::thread tb([&] { b = Persisted(Follow(job.id())); });
  ta.join();
  tb.join();
  std::vector<JobEvent> late = Persisted(Follow(job.id()));
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), late.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].SerializeAsString(), b[i].SerializeAsString()) << "event " << i;
    EXPECT_EQ(a[i].SerializeAsString(), late[i].SerializeAsString()) << "event " << i;
  }
  // Reattaching from the middle gives exactly the rest.
  std::vector<JobEvent> tail = Persisted(Follow(job.id(), 3));
  ASSERT_EQ(tail.size(), a.size() - 2);
  EXPECT_EQ(tail.front().seq(), 3);
  // Replay without follow ends after the replay.
  EXPECT_EQ(Persisted(Follow(job.id(), 1, false)).size(), a.size());
}

TEST_F(DaemonTest, LiveFollowerGetsBatchProgressThatIsNeverPersisted) {
  // Long enough that a follower descheduled on a busy machine still catches batches in flight.
  v1::Job job = Submit(SmallSpec(200));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  v1::WatchJobRequest req;
  req.set_job_id(job.id());
  req.set_from_seq(1);
  req.set_follow(true);
  auto reader = stub_->WatchJob(&ctx, req);
  JobEvent e, progress;
  int64_t last_persisted = 0;
  while (reader->Read(&e)) {
    if (e.has_progress()) {
      progress = e;
      break;
    }
    last_persisted = e.seq();
  }
  ctx.TryCancel();
  reader->Finish();
  ASSERT_TRUE(progress.has_progress()) << "a live follower gets batch progress";
  EXPECT_EQ(progress.seq(), last_persisted) << "progress carries the last persisted seq";
  EXPECT_GE(progress.progress().batch(), 1);
  EXPECT_EQ(progress.progress().num_batches(), 8);  // 256 images / 32
  v1::CancelJobRequest cr;
  cr.set_job_id(job.id());
  v1::Job out;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) { return stub_->CancelJob(c, cr, &out); }).ok());
  for (const JobEvent& ev : Follow(job.id(), 1, false)) EXPECT_FALSE(ev.has_progress());
}

// Prints how long an epoch's event takes from being recorded to reaching a live follower (the
// figure in the closing note); asserts only that every epoch arrives live.
TEST_F(DaemonTest, MeasuresEpochToFollowerLatency) {
  v1::Job job = Submit(SmallSpec(2));
  grpc::ClientContext ctx;
  v1::WatchJobRequest req;
  req.set_job_id(job.id());
  req.set_from_seq(1);
  req.set_follow(true);
  auto reader = stub_->WatchJob(&ctx, req);
  JobEvent e;
  std::vector<double> latencies_ms;
  while (reader->Read(&e)) {
    if (!e.has_epoch()) continue;
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    latencies_ms.push_back(static_cast<double>(now - e.unix_ms()));
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(latencies_ms.size(), 2u);
  for (double l : latencies_ms) {
    std::printf("epoch event: persisted -> follower received in %.0f ms\n", l);
  }
}

TEST_F(DaemonTest, CancelRunningAndQueuedJobs) {
  v1::Job running = Submit(SmallSpec(200));
  v1::Job queued = Submit(SmallSpec(2));
  WaitForState(running.id(), v1::RUNNING);
  v1::Job q = GetJob(queued.id());
  EXPECT_EQ(q.state(), v1::QUEUED);
  EXPECT_NE(q.waiting_reason().find("cpu"), std::string::npos) << q.waiting_reason();

  for (int i = 0; i < 2; ++i) {  // twice: cancel is idempotent
    v1::CancelJobRequest req;
    req.set_job_id(queued.id());
    v1::Job out;
    ASSERT_TRUE(Call([&](grpc::ClientContext* c) { return stub_->CancelJob(c, req, &out); }).ok());
    EXPECT_EQ(out.state(), v1::CANCELLED);
  }
  v1::CancelJobRequest req;
  req.set_job_id(running.id());
  v1::Job out;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) { return stub_->CancelJob(c, req, &out); }).ok());
  WaitForState(running.id(), v1::CANCELLED);
  std::vector<JobEvent> events = Persisted(Follow(running.id()));
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().terminal());
  EXPECT_EQ(events.back().state().state(), v1::CANCELLED);
}

TEST_F(DaemonTest, GracefulRestartKeepsHistoryAndResumeContinues) {
  // Enough epochs that the job is surely still running when the daemon stops.
  v1::Job job = Submit(SmallSpec(40));
  // Wait for the first finished epoch, then stop the daemon mid-run.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (GetJob(job.id()).epochs_done() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::vector<JobEvent> watched;
  std::thread watcher([&] { watched = Follow(job.id()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  daemon_->Shutdown();
  watcher.join();
  ASSERT_FALSE(watched.empty());
  EXPECT_TRUE(watched.back().terminal()) << "shutdown must end streams explicitly";
  daemon_.reset();

  Start();
  v1::Job after = GetJob(job.id());
  EXPECT_EQ(after.state(), v1::INTERRUPTED);
  const int64_t done_before = after.epochs_done();
  EXPECT_GE(done_before, 1);
  std::vector<JobEvent> history = Persisted(Follow(job.id(), 1, false));
  EXPECT_EQ(history.back().state().state(), v1::INTERRUPTED);

  v1::ResumeJobRequest rr;
  rr.set_job_id(job.id());
  v1::Job resumed;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) { return stub_->ResumeJob(c, rr, &resumed); }).ok());
  std::vector<JobEvent> rest = Persisted(Follow(job.id(), history.back().seq() + 1));
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.front().seq(), history.back().seq() + 1);
  EXPECT_EQ(rest.back().state().state(), v1::SUCCEEDED);
  int64_t first_new_epoch = 0;
  for (const JobEvent& e : rest) {
    if (e.has_epoch() && !first_new_epoch) first_new_epoch = e.epoch().epoch();
  }
  EXPECT_EQ(first_new_epoch, done_before + 1) << "resume continues at the next epoch";
  EXPECT_EQ(GetJob(job.id()).epochs_done(), 40);
}

TEST_F(DaemonTest, ActivationsPredictAndExport) {
  v1::Job job = Submit(SmallSpec(1));
  WaitForState(job.id(), v1::SUCCEEDED);

  v1::ActivationsRequest ar;
  ar.set_job_id(job.id());
  ar.set_valid_index(3);
  grpc::ClientContext ctx;
  auto reader = stub_->GetActivations(&ctx, ar);
  std::map<std::string, std::vector<int64_t>> shapes;
  std::map<std::string, size_t> sizes;
  v1::ActivationChunk c;
  while (reader->Read(&c)) {
    if (c.shape_size()) shapes[c.layer()] = {c.shape().begin(), c.shape().end()};
    sizes[c.layer()] += c.data_size();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(shapes["conv1"], (std::vector<int64_t>{1, 6, 28, 28}));
  EXPECT_EQ(shapes["pool1"], (std::vector<int64_t>{1, 6, 14, 14}));
  EXPECT_EQ(shapes["conv2"], (std::vector<int64_t>{1, 16, 10, 10}));
  EXPECT_EQ(shapes["pool2"], (std::vector<int64_t>{1, 16, 5, 5}));
  EXPECT_EQ(shapes["fc1"], (std::vector<int64_t>{1, 120}));
  EXPECT_EQ(shapes["logits"], (std::vector<int64_t>{1, 10}));
  EXPECT_EQ(sizes["conv1"], 6u * 28 * 28);

  v1::PredictRequest pr;
  pr.set_job_id(job.id());
  pr.set_valid_index(3);
  v1::PredictResponse resp;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) { return stub_->Predict(c, pr, &resp); }).ok());
  ASSERT_EQ(resp.probabilities_size(), 10);
  double sum = 0;
  for (double p : resp.probabilities()) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_GE(resp.label(), 0);
  EXPECT_EQ(resp.checkpoint_epoch(), 1);

  v1::ExportModelRequest er;
  er.set_job_id(job.id());
  grpc::ClientContext ectx;
  auto ereader = stub_->ExportModel(&ectx, er);
  std::string bytes;
  v1::FileChunk fc;
  int64_t total = -1;
  while (ereader->Read(&fc)) {
    EXPECT_EQ(fc.offset(), static_cast<int64_t>(bytes.size()));
    bytes += fc.data();
    total = fc.total_size();
  }
  ASSERT_TRUE(ereader->Finish().ok());
  EXPECT_EQ(static_cast<int64_t>(bytes.size()), total);
  absl::StatusOr<io::TensorFile> f = io::DecodeSafetensors(bytes, "export");
  ASSERT_TRUE(f.ok()) << f.status();
  absl::StatusOr<Tensor> w = f->Get("conv1.weight");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->shape(), (Shape{6, 1, 5, 5}));
  for (const auto& [name, t] : f->tensors) EXPECT_NE(name.rfind("optim.", 0), 0u) << name;
}

TEST_F(DaemonTest, BadRequestsGetTheRightCodeAndTheDaemonStaysUp) {
  auto submit_code = [&](const v1::JobSpec& spec, const std::string& must_mention) {
    grpc::ClientContext ctx;
    v1::SubmitJobRequest req;
    *req.mutable_spec() = spec;
    v1::Job job;
    grpc::Status s = stub_->SubmitJob(&ctx, req, &job);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << must_mention;
    EXPECT_NE(s.error_message().find(must_mention), std::string::npos) << s.error_message();
  };
  v1::JobSpec s = SmallSpec();
  s.set_task("cifar");
  submit_code(s, "task");
  s = SmallSpec();
  s.set_model("kim_cnn");
  submit_code(s, "model");
  s = SmallSpec();
  s.set_epochs(-3);
  submit_code(s, "epochs");
  s = SmallSpec();
  s.set_batch_size(-1);
  submit_code(s, "batch_size");
  s = SmallSpec();
  s.set_optimizer("lbfgs");
  submit_code(s, "optimizer");
  s = SmallSpec();
  s.set_device("cuda:7");
  submit_code(s, "device");
  s = SmallSpec();
  s.set_learning_rate(-1);
  submit_code(s, "learning_rate");

  v1::GetJobRequest g;
  g.set_job_id("no-such-job");
  v1::Job j;
  EXPECT_EQ(Call([&](grpc::ClientContext* c) { return stub_->GetJob(c, g, &j); }).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::Status ws;
  Follow("no-such-job", 1, true, &ws);
  EXPECT_EQ(ws.error_code(), grpc::StatusCode::NOT_FOUND);

  v1::Job job = Submit(SmallSpec(1));
  WaitForState(job.id(), v1::SUCCEEDED);
  Follow(job.id(), 999, true, &ws);
  EXPECT_EQ(ws.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::PredictRequest pr;
  pr.set_job_id(job.id());
  v1::PredictResponse resp;
  EXPECT_EQ(Call([&](grpc::ClientContext* c) { return stub_->Predict(c, pr, &resp); }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // no input
  pr.set_text("a fine film");
  EXPECT_EQ(Call([&](grpc::ClientContext* c) { return stub_->Predict(c, pr, &resp); }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // text for an image model
  pr.set_valid_index(100000);
  EXPECT_EQ(Call([&](grpc::ClientContext* c) { return stub_->Predict(c, pr, &resp); }).error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
  pr.set_image_png("not a png");
  EXPECT_EQ(Call([&](grpc::ClientContext* c) { return stub_->Predict(c, pr, &resp); }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ResumeJobRequest rr;
  rr.set_job_id(job.id());
  EXPECT_EQ(Call([&](grpc::ClientContext* c) { return stub_->ResumeJob(c, rr, &j); }).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // already succeeded

  // Issue 8, findings 3 and 6: sizes and files the client controls. Each case gets its code,
  // a message that quotes user input only briefly, and the daemon keeps serving.
  const std::string huge(10240, 'x');
  struct Case {
    std::string name;
    std::function<grpc::Status(grpc::ClientContext*)> call;
    grpc::StatusCode code;
    std::string must_mention;
  };
  auto submit = [&](const std::function<void(v1::JobSpec*)>& mutate) {
    return [&, mutate](grpc::ClientContext* c) {
      v1::SubmitJobRequest req;
      *req.mutable_spec() = SmallSpec();
      mutate(req.mutable_spec());
      v1::Job out;
      return stub_->SubmitJob(c, req, &out);
    };
  };
  auto predict = [&](const std::function<void(v1::PredictRequest*)>& mutate) {
    return [&, mutate](grpc::ClientContext* c) {
      v1::PredictRequest req;
      req.set_job_id(job.id());
      mutate(&req);
      v1::PredictResponse out;
      return stub_->Predict(c, req, &out);
    };
  };
  const std::vector<Case> cases = {
      {"10 KB task name", submit([&](v1::JobSpec* s) { s->set_task(huge); }),
       grpc::StatusCode::INVALID_ARGUMENT, "invalid task 'xxxx"},
      {"10 KB model name", submit([&](v1::JobSpec* s) { s->set_model(huge); }),
       grpc::StatusCode::INVALID_ARGUMENT, "invalid model 'xxxx"},
      {"train_size 10^12", submit([&](v1::JobSpec* s) { s->set_train_size(1000000000000); }),
       grpc::StatusCode::INVALID_ARGUMENT,
       "invalid train_size '1000000000000': the mnist train split has at most 60000"},
      {"valid_size beyond the split", submit([&](v1::JobSpec* s) { s->set_valid_size(10001); }),
       grpc::StatusCode::INVALID_ARGUMENT, "invalid valid_size '10001'"},
      {"10 KB device", submit([&](v1::JobSpec* s) { s->set_device(huge); }),
       grpc::StatusCode::INVALID_ARGUMENT, "invalid device 'xxxx"},
      {"10 KB optimizer", submit([&](v1::JobSpec* s) { s->set_optimizer(huge); }),
       grpc::StatusCode::INVALID_ARGUMENT, "invalid optimizer 'xxxx"},
      {"embeddings_file outside the data dir",
       submit([&](v1::JobSpec* s) {
         *s = SmallSpec();
         s->set_task("sst2");
         s->set_model("");
         s->set_embeddings_file("/etc/passwd");
       }),
       grpc::StatusCode::INVALID_ARGUMENT, "invalid embeddings_file '/etc/passwd'"},
      {"embeddings_file escaping with ..",
       submit([&](v1::JobSpec* s) {
         *s = SmallSpec();
         s->set_task("sst2");
         s->set_model("");
         s->set_embeddings_file("../../../../../../../../etc/passwd");
       }),
       grpc::StatusCode::INVALID_ARGUMENT, "invalid embeddings_file"},
      {"10 KB job id (GetJob)",
       [&](grpc::ClientContext* c) {
         v1::GetJobRequest r;
         r.set_job_id(huge);
         v1::Job out;
         return stub_->GetJob(c, r, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "invalid job id 'xxxx"},
      {"10 KB job id (CancelJob)",
       [&](grpc::ClientContext* c) {
         v1::CancelJobRequest r;
         r.set_job_id(huge);
         v1::Job out;
         return stub_->CancelJob(c, r, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "invalid job id 'xxxx"},
      {"10 KB job id (ResumeJob)",
       [&](grpc::ClientContext* c) {
         v1::ResumeJobRequest r;
         r.set_job_id(huge);
         v1::Job out;
         return stub_->ResumeJob(c, r, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "invalid job id 'xxxx"},
      {"10 KB job id (Predict)",
       predict([&](v1::PredictRequest* r) {
         r->set_job_id(huge);
         r->set_valid_index(0);
       }),
       grpc::StatusCode::INVALID_ARGUMENT, "invalid job id 'xxxx"},
      {"10 KB job id (ExportModel)",
       [&](grpc::ClientContext* c) {
         v1::ExportModelRequest r;
         r.set_job_id(huge);
         auto reader = stub_->ExportModel(c, r);
         v1::FileChunk chunk;
         while (reader->Read(&chunk)) {
         }
         return reader->Finish();
       },
       grpc::StatusCode::INVALID_ARGUMENT, "invalid job id 'xxxx"},
      {"10 KB job id (WatchJob)",
       [&](grpc::ClientContext* c) {
         v1::WatchJobRequest r;
         r.set_job_id(huge);
         auto reader = stub_->WatchJob(c, r);
         JobEvent e;
         while (reader->Read(&e)) {
         }
         return reader->Finish();
       },
       grpc::StatusCode::INVALID_ARGUMENT, "invalid job id 'xxxx"},
      {"PNG over the byte limit",
       predict([&](v1::PredictRequest* r) { r->set_image_png(std::string(2 << 20, '\0')); }),
       grpc::StatusCode::INVALID_ARGUMENT, "--image is 2097152 bytes"},
      {"PNG whose header claims 100000x100000",
       predict([&](v1::PredictRequest* r) { r->set_image_png(PngHeaderOnly(100000, 100000)); }),
       grpc::StatusCode::INVALID_ARGUMENT, "100000x100000"},
      {"text over the byte limit",
       predict([&](v1::PredictRequest* r) { r->set_text(Words(40000)); }),
       grpc::StatusCode::INVALID_ARGUMENT, "text is 80000 bytes"},
      {"negative page_size",
       [&](grpc::ClientContext* c) {
         v1::ListJobsRequest r;
         r.set_page_size(-1);
         v1::ListJobsResponse out;
         return stub_->ListJobs(c, r, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "invalid page_size"},
      {"unknown page_token",
       [&](grpc::ClientContext* c) {
         v1::ListJobsRequest r;
         r.set_page_token(huge);
         v1::ListJobsResponse out;
         return stub_->ListJobs(c, r, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "invalid page_token 'xxxx"},
  };
  for (const Case& c : cases) {
    grpc::Status st = Call(c.call);
    EXPECT_EQ(st.error_code(), c.code) << c.name << ": " << st.error_message();
    EXPECT_NE(st.error_message().find(c.must_mention), std::string::npos)
        << c.name << ": " << st.error_message();
    EXPECT_LT(st.error_message().size(), 400u) << c.name << ": user input quoted at length";
    EXPECT_EQ(st.error_message().find("root:"), std::string::npos) << c.name;
    ExpectServing();
  }

  // A checkpoint whose header has the wrong JSON types (dtype a number, shape a string) is
  // DATA_LOSS, not UNKNOWN.
  const std::string latest = state_dir_ + "/jobs/" + job.id() + "/latest.safetensors";
  ASSERT_TRUE(std::filesystem::exists(latest));
  for (const std::string& header :
       {std::string(R"({"conv1.weight":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})"),
        std::string(R"({"conv1.weight":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})")}) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    bytes += header + std::string(4, '\0');
    std::filesystem::remove(latest);
    std::ofstream(latest, std::ios::binary) << bytes;
    grpc::Status st = Call(predict([](v1::PredictRequest* r) { r->set_valid_index(0); }));
    EXPECT_EQ(st.error_code(), grpc::StatusCode::DATA_LOSS) << header << ": " << st.error_message();
    ExpectServing();
  }

  // Still serving.
  v1::ListDevicesRequest dr;
  v1::ListDevicesResponse devices;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) { return stub_->ListDevices(c, dr, &devices); }).ok());
  ASSERT_GE(devices.devices_size(), 1);
  EXPECT_EQ(devices.devices(0).name(), "cpu");
  EXPECT_GT(devices.devices(0).cores(), 0);
}

// ListJobs in pages: every job exactly once, newest first, the last page without a token; and
// JobSpec's optional fields: left out, momentum is the model's default; an explicit 0 stays 0.
TEST_F(DaemonTest, ListJobsPagesAndOptionalSpecFields) {
  v1::JobSpec omitted = SmallSpec(1);
  ASSERT_FALSE(omitted.has_momentum());
  v1::Job a = Submit(omitted);
  EXPECT_DOUBLE_EQ(a.spec().momentum(), 0.9) << "lenet5's default momentum";
  v1::JobSpec zero = SmallSpec(1);
  zero.set_momentum(0);
  v1::Job b = Submit(zero);
  EXPECT_EQ(b.spec().momentum(), 0.0);
  v1::Job c = Submit(SmallSpec(1));

  std::vector<std::string> seen;
  v1::ListJobsRequest req;
  req.set_page_size(2);
  int pages = 0;
  for (; pages < 10; ++pages) {
    v1::ListJobsResponse page;
    ASSERT_TRUE(Call([&](grpc::ClientContext* ctx) { return stub_->ListJobs(ctx, req, &page); })
                    .ok());
    EXPECT_LE(page.jobs_size(), 2);
    for (const v1::Job& j : page.jobs()) seen.push_back(j.id());
    if (!page.has_next_page_token()) break;
    req.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(pages, 1) << "two pages: 2 jobs, then 1";
  EXPECT_EQ(seen, (std::vector<std::string>{c.id(), b.id(), a.id()}));
  for (const v1::Job& j : {a, b, c}) WaitForState(j.id(), v1::SUCCEEDED);
}

// Text inference limits: too many bytes or tokens is INVALID_ARGUMENT; an input within them
// whose estimated activation memory exceeds the budget is RESOURCE_EXHAUSTED before anything is
// allocated; the daemon keeps answering normal requests.
TEST_F(DaemonTest, TextLimitsAndTheInferenceMemoryBudget) {
  WriteSst2(data_dir_);
  daemon_.reset();
  limits_.memory_bytes = 8 << 20;  // 8 MiB: a 5000-token sentence needs ~27 MiB at dim 16
  Start();
  v1::Job job = Submit(Sst2Spec());
  WaitForState(job.id(), v1::SUCCEEDED);
  ASSERT_TRUE(PredictText(job.id(), "a great film").ok());

  grpc::Status s = PredictText(job.id(), Words(40000));  // 80000 bytes > 65536
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("bytes"), std::string::npos) << s.error_message();
  s = PredictText(job.id(), Words(10001));  // 20002 bytes, 10001 tokens > 10000
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("10001 tokens"), std::string::npos) << s.error_message();
  s = PredictText(job.id(), Words(5000));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("--inference_memory_mb"), std::string::npos)
      << s.error_message();
  s = ActivationsText(job.id(), Words(5000));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  // A sentence within the budget still works, on the same daemon.
  EXPECT_TRUE(PredictText(job.id(), Words(100)).ok());
  EXPECT_TRUE(ActivationsText(job.id(), "a great film").ok());
  ExpectServing();
}

// Scratch memory is given back after a large request: the CPU allocator's cache (which keeps up
// to 256 MiB of freed blocks for training) is emptied once a request estimated above 64 MiB is
// done, and conv column scratch that large is never kept per thread.
TEST_F(DaemonTest, MemoryOfALargeRequestIsGivenBack) {
  WriteSst2(data_dir_);
  v1::JobSpec spec = Sst2Spec();
  spec.set_embedding_dim(64);
  v1::Job job = Submit(spec);
  WaitForState(job.id(), v1::SUCCEEDED);
  const CachingAllocatorStats before = CpuCachingAllocator().stats();
  ASSERT_TRUE(PredictText(job.id(), Words(10000)).ok());  // ~74 MiB estimated
  const CachingAllocatorStats after = CpuCachingAllocator().stats();
  EXPECT_GT(after.backend_frees, before.backend_frees);
  EXPECT_LT(after.cached_bytes, int64_t{8} << 20)
      << "the request's activations stayed cached after it finished";
}

// grpcurl-style tooling needs the standard health service and server reflection. Called through
// the generic stub with hand-encoded protobuf bytes, since Debian ships no client code for them.
grpc::ByteBuffer Bytes(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

std::string String(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(b.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

TEST_F(DaemonTest, HealthServiceAndReflectionAnswer) {
  grpc::GenericStub generic(channel_);
  // grpc.health.v1.HealthCheckRequest{service: ""} is empty; SERVING is field 1 = 1: 08 01.
  grpc::ClientContext ctx;
  grpc::CompletionQueue cq;
  grpc::ByteBuffer request = Bytes(""), response;
  auto call = generic.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(String(response), std::string("\x08\x01", 2));

  // grpc.reflection.v1alpha.ServerReflectionRequest{list_services: ""} is field 7: 3a 00.
  grpc::ClientContext rctx;
  grpc::CompletionQueue rcq;
  auto stream = generic.PrepareCall(&rctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &rcq);
  stream->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(rcq.Next(&tag, &ok) && ok);
  stream->Write(Bytes(std::string("\x3a\x00", 2)), reinterpret_cast<void*>(2));
  ASSERT_TRUE(rcq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer listing;
  stream->Read(&listing, reinterpret_cast<void*>(3));
  ASSERT_TRUE(rcq.Next(&tag, &ok) && ok);
  EXPECT_NE(String(listing).find("mt.v1.TrainingService"), std::string::npos);
  stream->WritesDone(reinterpret_cast<void*>(4));
  ASSERT_TRUE(rcq.Next(&tag, &ok));
  stream->Finish(&status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(rcq.Next(&tag, &ok));
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// The daemon binary, killed with SIGKILL mid-run and started again on the same state.
class KilledDaemonTest : public DaemonTest {
 protected:
  void SetUp() override {
    data_dir_ = testing::FreshDir("kdata");
    data::testing::WriteMnistIdx(data_dir_, data::testing::SyntheticDigits(256, 3),
                                 data::testing::SyntheticDigits(64, 4));
    state_dir_ = testing::FreshDir("kstate");
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  // Starts the real binary on an ephemeral port and reads the port from its first line.
  void Spawn() {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::string bin = std::string(std::getenv("TEST_SRCDIR")) + "/mt/server/server";
    std::vector<std::string> args = {bin, "--listen=127.0.0.1:0", "--state_dir=" + state_dir_,
                                      "--data_dir=" + data_dir_, "--threads=1"};
    args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      if (address_space_limit_ != RLIM_INFINITY) {
        struct rlimit limit = {address_space_limit_, address_space_limit_};
        if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(126);
        // glibc reserves 64 MiB of address space per malloc arena; a few arenas are plenty.
        setenv("MALLOC_ARENA_MAX", "2", 1);
      }
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(fds[1]);
    FILE* out = fdopen(fds[0], "r");
    char line[1024] = {0};
    ASSERT_NE(fgets(line, sizeof line, out), nullptr) << "daemon printed nothing";
    fclose(out);
    std::string s(line);
    size_t colon = s.find(':', s.find("127.0.0.1"));
    ASSERT_NE(colon, std::string::npos) << s;
    Connect(std::stoi(s.substr(colon + 1)));
  }
  pid_t pid_ = -1;
  // Set before Spawn: extra flags, and an address-space limit (setrlimit in the child).
  std::vector<std::string> extra_flags_;
  rlim_t address_space_limit_ = RLIM_INFINITY;
};

TEST_F(KilledDaemonTest, Sigkill_MidEpoch_HistoryIntact_ThenResume) {
  Spawn();
  v1::Job job = Submit(SmallSpec(40));  // still running when killed, even on a fast machine
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (GetJob(job.id()).epochs_done() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(kill(pid_, SIGKILL), 0);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;

  Spawn();
  v1::Job after = GetJob(job.id());
  EXPECT_EQ(after.state(), v1::INTERRUPTED);
  EXPECT_GE(after.epochs_done(), 2);
  std::vector<JobEvent> history = Persisted(Follow(job.id(), 1, false));
  int epochs = 0;
  for (const JobEvent& e : history) epochs += e.has_epoch();
  EXPECT_EQ(epochs, after.epochs_done()) << "every finished epoch's event survived";
  EXPECT_TRUE(std::filesystem::exists(state_dir_ + "/jobs/" + job.id() + "/latest.safetensors"));

  v1::ResumeJobRequest rr;
  rr.set_job_id(job.id());
  v1::Job resumed;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) { return stub_->ResumeJob(c, rr, &resumed); }).ok());
  std::vector<JobEvent> rest = Persisted(Follow(job.id(), history.back().seq() + 1));
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().state().state(), v1::SUCCEEDED);
  EXPECT_EQ(GetJob(job.id()).epochs_done(), 40);

  // SIGTERM: graceful, exit code 0.
  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Issue 8, finding 3: under a 2 GiB address-space limit, with the inference budget and the
// text limits lifted, a 5M-token sentence runs into real allocation failures (the tensor
// allocator and the conv kernel's scratch, inside OpenMP regions). Each request fails alone with
// RESOURCE_EXHAUSTED; the daemon neither aborts nor stops serving, and answers a normal request
// afterwards.
TEST_F(KilledDaemonTest, HugeRequestUnderAMemoryLimitFailsAloneWithResourceExhausted) {
  DaemonTest::WriteSst2(data_dir_);
  address_space_limit_ = rlim_t{2} << 30;
  extra_flags_ = {"--inference_memory_mb=0", "--max_text_bytes=16000000",
                  "--max_text_tokens=100000000"};
  Spawn();
  v1::Job job = Submit(Sst2Spec());
  WaitForState(job.id(), v1::SUCCEEDED);
  ASSERT_TRUE(PredictText(job.id(), "a great film").ok());
  const std::string text = Words(5000000);  // 10 MB; ~27 GB of activations at dim 16
  grpc::Status s = PredictText(job.id(), text);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  ExpectServing();
  s = ActivationsText(job.id(), text);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  ExpectServing();
  EXPECT_TRUE(PredictText(job.id(), "a great film").ok());
  int status = 0;
  EXPECT_EQ(waitpid(pid_, &status, WNOHANG), 0) << "the daemon exited";
}

}  // namespace
}  // namespace mt::server
