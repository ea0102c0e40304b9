#include "server/http/metrics.h"

#include <gtest/gtest.h>

#include "server/http/exposition_parser.h"
#include "server/http/fake_job_manager.h"

namespace mt::server::http {
namespace {

using testing::Exposition;
using testing::FakeJobManager;
using testing::ParseExposition;

v1::Job MakeJob(const std::string& id, v1::JobState state, int64_t train_size = 200,
                int64_t batch_size = 10) {
  v1::Job j;
  j.set_id(id);
  j.set_state(state);
  j.mutable_spec()->set_task("mnist");
  j.mutable_spec()->set_train_size(train_size);
  j.mutable_spec()->set_batch_size(batch_size);
  return j;
}

v1::JobEvent Epoch(int64_t epoch, double sps) {
  v1::JobEvent e;
  e.mutable_epoch()->set_epoch(epoch);
  e.mutable_epoch()->set_samples_per_second(sps);
  return e;
}

v1::JobEvent State(v1::JobState s) {
  v1::JobEvent e;
  e.mutable_state()->set_state(s);
  return e;
}

class MetricsTest : public ::testing::Test {
 protected:
  Exposition Scrape(DaemonMetrics& m) {
    const std::string text = m.Render();
    absl::StatusOr<Exposition> e = ParseExposition(text);
    EXPECT_TRUE(e.ok()) << e.status() << "\n" << text;
    return e.ok() ? *e : Exposition();
  }
  double Value(const Exposition& e, const std::string& name,
               const std::map<std::string, std::string>& labels = {}) {
    absl::StatusOr<double> v = e.Value(name, labels);
    EXPECT_TRUE(v.ok()) << name << ": " << v.status();
    return v.ok() ? *v : -1;
  }

  FakeJobManager manager_;
  RpcStats rpc_;
  std::chrono::steady_clock::time_point now_{std::chrono::seconds(1000)};
};

TEST_F(MetricsTest, JobsByStateDevicesAndEpochCounters) {
  // Before the daemon's metrics start: a finished job with two epochs (not counted).
  manager_.SetJob(MakeJob("job-000001", v1::SUCCEEDED),
                  {State(v1::QUEUED), State(v1::RUNNING), Epoch(1, 100), Epoch(2, 100),
                   State(v1::SUCCEEDED)});
  v1::Device cpu;
  cpu.set_name("cpu");
  cpu.set_queued(3);
  cpu.set_running(1);
  cpu.set_max_running(2);
  manager_.devices = {cpu};
  DaemonMetrics m(&manager_, &rpc_, [this] { return now_; });

  Exposition e = Scrape(m);
  EXPECT_EQ(Value(e, "mt_jobs", {{"state", "succeeded"}}), 1);
  EXPECT_EQ(Value(e, "mt_jobs", {{"state", "running"}}), 0);
  EXPECT_EQ(Value(e, "mt_jobs", {{"state", "interrupted"}}), 0);
  EXPECT_EQ(e.families.at("mt_jobs").type, "gauge");
  EXPECT_EQ(Value(e, "mt_device_queued_jobs", {{"device", "cpu"}}), 3);
  EXPECT_EQ(Value(e, "mt_device_running_jobs", {{"device", "cpu"}}), 1);
  EXPECT_EQ(Value(e, "mt_device_max_running_jobs", {{"device", "cpu"}}), 2);
  EXPECT_EQ(Value(e, "mt_epochs_trained_total"), 0);
  EXPECT_EQ(Value(e, "mt_samples_trained_total"), 0);
  EXPECT_EQ(e.families.at("mt_epochs_trained_total").type, "counter");

  // A new job runs two epochs of 200 examples, then a third; the old one's epochs stay out.
  manager_.SetJob(MakeJob("job-000002", v1::RUNNING),
                  {State(v1::QUEUED), State(v1::RUNNING), Epoch(1, 50), Epoch(2, 60)});
  e = Scrape(m);
  EXPECT_EQ(Value(e, "mt_jobs", {{"state", "running"}}), 1);
  EXPECT_EQ(Value(e, "mt_epochs_trained_total"), 2);
  EXPECT_EQ(Value(e, "mt_samples_trained_total"), 400);
  // No batch progress yet: the last epoch's speed.
  v1::Job j2 = *manager_.Get("job-000002");
  j2.mutable_last_epoch()->set_samples_per_second(60);
  manager_.SetJob(j2, {State(v1::QUEUED), State(v1::RUNNING), Epoch(1, 50), Epoch(2, 60),
                       Epoch(3, 70)});
  e = Scrape(m);
  EXPECT_EQ(Value(e, "mt_epochs_trained_total"), 3);
  EXPECT_EQ(Value(e, "mt_samples_trained_total"), 600);
  EXPECT_EQ(Value(e, "mt_job_samples_per_second", {{"job_id", "job-000002"}}), 60);
  // Counters never go back, even when scraped again with nothing new.
  e = Scrape(m);
  EXPECT_EQ(Value(e, "mt_epochs_trained_total"), 3);
}

TEST_F(MetricsTest, SpeedBetweenTwoScrapesFromBatchProgress) {
  DaemonMetrics m(&manager_, &rpc_, [this] { return now_; });
  manager_.SetJob(MakeJob("job-000003", v1::RUNNING, 1000, 10), {State(v1::RUNNING)});
  v1::BatchProgress p;
  p.set_epoch(1);
  p.set_batch(5);
  p.set_num_batches(100);
  manager_.SetProgress("job-000003", p);
  Exposition e = Scrape(m);
  EXPECT_EQ(Value(e, "mt_job_samples_per_second", {{"job_id", "job-000003"}}), 0);
  // 20 more batches of 10 in 4 s: 50 samples/s.
  p.set_batch(25);
  manager_.SetProgress("job-000003", p);
  now_ += std::chrono::seconds(4);
  e = Scrape(m);
  EXPECT_DOUBLE_EQ(Value(e, "mt_job_samples_per_second", {{"job_id", "job-000003"}}), 50);
  // Once it stops running, it has no speed line.
  v1::Job done = *manager_.Get("job-000003");
  done.set_state(v1::SUCCEEDED);
  manager_.SetJob(done, {State(v1::RUNNING), State(v1::SUCCEEDED)});
  e = Scrape(m);
  EXPECT_FALSE(e.Value("mt_job_samples_per_second", {{"job_id", "job-000003"}}).ok());
}

TEST_F(MetricsTest, RpcCountsAndLatencyHistogram) {
  rpc_.Record("GetJob", 0, 0.002);
  rpc_.Record("GetJob", 0, 0.3);
  rpc_.Record("GetJob", 5, 0.0005);
  rpc_.Record("WatchJob", 1, 100);  // beyond the last bound: only +Inf
  DaemonMetrics m(&manager_, &rpc_, [this] { return now_; });
  Exposition e = Scrape(m);
  EXPECT_EQ(Value(e, "mt_rpc_requests_total", {{"method", "GetJob"}, {"code", "OK"}}), 2);
  EXPECT_EQ(Value(e, "mt_rpc_requests_total", {{"method", "GetJob"}, {"code", "NOT_FOUND"}}), 1);
  EXPECT_EQ(Value(e, "mt_rpc_requests_total", {{"method", "WatchJob"}, {"code", "CANCELLED"}}), 1);
  EXPECT_EQ(e.families.at("mt_rpc_duration_seconds").type, "histogram");
  const std::map<std::string, std::string> ok = {{"method", "GetJob"}, {"code", "OK"}};
  auto bucket = [&](const std::string& le) {
    auto l = ok;
    l["le"] = le;
    return Value(e, "mt_rpc_duration_seconds_bucket", l);
  };
  EXPECT_EQ(bucket("0.001"), 0);
  EXPECT_EQ(bucket("0.0025"), 1);
  EXPECT_EQ(bucket("0.25"), 1);
  EXPECT_EQ(bucket("0.5"), 2);
  EXPECT_EQ(bucket("+Inf"), 2);
  EXPECT_DOUBLE_EQ(Value(e, "mt_rpc_duration_seconds_sum", ok), 0.302);
  EXPECT_EQ(Value(e, "mt_rpc_duration_seconds_count", ok), 2);
  EXPECT_EQ(Value(e, "mt_rpc_duration_seconds_bucket",
                  {{"method", "WatchJob"}, {"code", "CANCELLED"}, {"le", "30"}}),
            0);
}

TEST_F(MetricsTest, ProcessMemoryFromProcStatm) {
  const ProcessMemory mem = ReadProcessMemory();
  EXPECT_GT(mem.resident_bytes, 1 << 20);  // a test binary is more than a MiB resident
  EXPECT_GE(mem.virtual_bytes, mem.resident_bytes);
  DaemonMetrics m(&manager_, &rpc_, [this] { return now_; });
  Exposition e = Scrape(m);
  EXPECT_GT(Value(e, "mt_process_resident_memory_bytes"), 1 << 20);
}

TEST(SamplesPerEpochTest, TrainSizeElseThePublishedSplit) {
  v1::Job j;
  j.mutable_spec()->set_task("mnist");
  j.mutable_spec()->set_train_size(123);
  EXPECT_EQ(SamplesPerEpoch(j), 123);
  j.mutable_spec()->set_train_size(0);
  EXPECT_EQ(SamplesPerEpoch(j), 60000);
  j.mutable_spec()->set_task("nope");
  EXPECT_EQ(SamplesPerEpoch(j), 0);
}

}  // namespace
}  // namespace mt::server::http
