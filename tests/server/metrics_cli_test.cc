// `mt-client metrics` end to end: a real daemon on a loopback port runs a small job, the real
// mt-client binary prints its history, and every CSV row is checked against the job's events as
// WatchJob gives them to a plain gRPC client (the loss points and the epochs' metrics).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "engine/data/mnist_fixture.h"
#include "proto/training.grpc.pb.h"
#include "server/service.h"
#include "tests/server/fixtures.h"
#include "tests/server/process.h"

namespace mt::server {
namespace {

using ::mt::testing::FreshDir;
using ::mt::testing::ProcessResult;
using ::mt::testing::RunProcess;
using ::mt::testing::Runfile;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(MetricsCli, PrintsTheSeriesOfARealJob) {
  const std::string data_dir = FreshDir("metrics-data");
  data::testing::WriteMnistIdx(data_dir, data::testing::SyntheticDigits(256, 1),
                               data::testing::SyntheticDigits(64, 2));
  Options o;
  o.state_dir = FreshDir("metrics-state");
  o.data_dir = data_dir;
  o.cpu_threads = 1;
  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Start(o, "127.0.0.1:0");
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  const std::string address = "127.0.0.1:" + std::to_string((*daemon)->port());
  auto stub = v1::TrainingService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));

  v1::SubmitJobRequest req;
  v1::JobSpec* spec = req.mutable_spec();
  spec->set_task("mnist");
  spec->set_model("lenet5");
  spec->set_epochs(2);
  spec->set_batch_size(32);
  spec->set_train_size(96);  // 3 batches an epoch: a loss point after every batch
  spec->set_valid_size(32);
  spec->set_threads(1);
  v1::Job job;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    ASSERT_TRUE(stub->SubmitJob(&ctx, req, &job).ok());
  }
  // Follow to the end, keeping the persisted events.
  std::vector<v1::JobEvent> events;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
    v1::WatchJobRequest w;
    w.set_job_id(job.id());
    w.set_from_seq(1);
    w.set_follow(true);
    auto reader = stub->WatchJob(&ctx, w);
    v1::JobEvent e;
    while (reader->Read(&e)) {
      if (!e.has_progress()) events.push_back(e);
    }
    ASSERT_TRUE(reader->Finish().ok());
  }
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_state());
  ASSERT_EQ(events.back().state().state(), v1::SUCCEEDED);

  // What the rows must say, from the events themselves.
  std::map<std::string, std::vector<std::vector<std::string>>> want;
  auto row = [](int64_t step, double epoch, double value) {
    char e[64], v[64];
    std::snprintf(e, sizeof(e), "%.17g", epoch);
    std::snprintf(v, sizeof(v), "%.17g", value);
    return std::vector<std::string>{std::to_string(step), e, v};
  };
  for (const v1::JobEvent& e : events) {
    if (e.has_scalars()) {
      for (const v1::ScalarPoint& p : e.scalars().points()) {
        want[p.tag()].push_back(row(p.step(), p.epoch(), p.value()));
      }
    }
    if (e.has_epoch()) {
      const v1::EpochMetrics& m = e.epoch();
      EXPECT_EQ(m.step(), m.epoch() * 3);
      const double epoch = static_cast<double>(m.epoch());
      want["epoch/train_loss"].push_back(row(m.step(), epoch, m.train_loss()));
      want["epoch/valid_loss"].push_back(row(m.step(), epoch, m.valid_loss()));
      want["epoch/train_accuracy"].push_back(row(m.step(), epoch, m.train_accuracy()));
      want["epoch/valid_accuracy"].push_back(row(m.step(), epoch, m.valid_accuracy()));
      want["epoch/learning_rate"].push_back(row(m.step(), epoch, m.learning_rate()));
      want["epoch/samples_per_second"].push_back(row(m.step(), epoch, m.samples_per_second()));
    }
  }
  ASSERT_EQ(want["train/loss"].size(), 6u);
  ASSERT_EQ(want["epoch/valid_loss"].size(), 2u);

  const std::string client = Runfile("client/mt-client");
  ProcessResult csv = RunProcess({client, "--server", address, "metrics", job.id(), "--csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  std::vector<std::string> lines = absl::StrSplit(csv.out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "series,step,epoch,value");
  std::map<std::string, std::vector<std::vector<std::string>>> got;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(cells.size(), 4u) << lines[i];
    got[cells[0]].push_back({cells[1], cells[2], cells[3]});
  }
  EXPECT_EQ(got, want);

  // The table: both epochs and the six points, under the documented headings.
  ProcessResult table = RunProcess({client, "--server", address, "metrics", job.id()});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, StartsWith(job.id() + ": 2 epochs\n"));
  EXPECT_THAT(table.out, HasSubstr("epoch  step  train loss  valid loss  train acc  valid acc"));
  EXPECT_THAT(table.out, HasSubstr("training loss (mean since the previous point), 6 points\n"));

  // Mistakes are said in the user's words.
  ProcessResult unknown = RunProcess({client, "--server", address, "metrics", "job-999999"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("job-999999"));
  ProcessResult follow = RunProcess({client, "--server", address, "metrics", job.id(), "-f"});
  EXPECT_EQ(follow.exit_code, 1);
  EXPECT_THAT(follow.err, HasSubstr("takes no -f"));
  ProcessResult none = RunProcess({client, "--server", address, "metrics"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("metrics needs a JOB id"));
  ProcessResult help = RunProcess({client, "metrics", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("mt-client metrics JOB [--csv]"));

  (*daemon)->Shutdown();
}

}  // namespace
}  // namespace mt::server
