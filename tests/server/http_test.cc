// The daemon's HTTP port end to end: a real daemon (job manager, gRPC and HTTP servers) on
// loopback ephemeral ports, a tiny synthetic MNIST job, and cpp-httplib as the client. Checks
// /metrics with a strict exposition reader (and that gRPC calls show up in it), the JSON API's
// answers for a trained job (events, activations with the input picture, predictions), its
// errors, token auth, and that only the dashboard's own files are served.
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "engine/data/mnist_fixture.h"
#include "nlohmann/json.hpp"
#include "proto/training.grpc.pb.h"
#include "server/auth.h"
#include "server/http/exposition_parser.h"
#include "server/service.h"
#include "tests/server/fixtures.h"

namespace mt::server {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

std::string WebDir() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return std::string(srcdir ? srcdir : ".") + "/mt/web";
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = testing::FreshDir("data");
    data::testing::WriteMnistIdx(data_dir_, data::testing::SyntheticDigits(256, 1),
                                 data::testing::SyntheticDigits(64, 2));
    state_dir_ = testing::FreshDir("state");
  }

  void Start(const std::string& tokens_file = "") {
    Options o;
    o.state_dir = state_dir_;
    o.data_dir = data_dir_;
    o.cpu_threads = 1;
    ServeOptions serve;
    serve.listen = "127.0.0.1:0";
    serve.http_listen = "127.0.0.1:0";
    serve.web_dir = WebDir();
    serve.tokens_file = tokens_file;
    absl::StatusOr<std::unique_ptr<Daemon>> d = Daemon::Start(o, serve);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = std::move(*d);
    ASSERT_GT(daemon_->http_port(), 0);
    http_ = std::make_unique<httplib::Client>("127.0.0.1", daemon_->http_port());
    http_->set_read_timeout(60, 0);
    stub_ = v1::TrainingService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(daemon_->port()), grpc::InsecureChannelCredentials()));
  }

  // GET → (status, body); status -1 when the request failed.
  std::pair<int, std::string> Get(const std::string& path, const std::string& token = "") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    httplib::Result r = http_->Get(path.c_str(), h);
    if (!r) return {-1, "request failed: " + httplib::to_string(r.error())};
    return {r->status, r->body};
  }
  json GetJson(const std::string& path, int want_status = 200, const std::string& token = "") {
    auto [status, body] = Get(path, token);
    EXPECT_EQ(status, want_status) << path << ": " << body;
    json j = json::parse(body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << body;
    return j;
  }

  http::testing::Exposition Metrics() {
    auto [status, body] = Get("/metrics");
    EXPECT_EQ(status, 200) << body;
    absl::StatusOr<http::testing::Exposition> e = http::testing::ParseExposition(body);
    EXPECT_TRUE(e.ok()) << e.status() << "\n" << body;
    return e.ok() ? *e : http::testing::Exposition();
  }
  double Value(const http::testing::Exposition& e, const std::string& name,
               const std::map<std::string, std::string>& labels = {}) {
    absl::StatusOr<double> v = e.Value(name, labels);
    EXPECT_TRUE(v.ok()) << name << ": " << v.status();
    return v.ok() ? *v : -1;
  }

  v1::JobSpec SmallSpec() {
    v1::JobSpec s;
    s.set_task("mnist");
    s.set_model("lenet5");
    s.set_epochs(2);
    s.set_batch_size(32);
    s.set_train_size(128);
    s.set_threads(1);
    return s;
  }

  std::string Submit(const v1::JobSpec& spec, const std::string& token = "") {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    v1::SubmitJobRequest req;
    *req.mutable_spec() = spec;
    v1::Job job;
    grpc::Status s = stub_->SubmitJob(&ctx, req, &job);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return job.id();
  }

  void WaitFinished(const std::string& id) {
    const bool done = daemon_->manager() != nullptr;
    ASSERT_TRUE(done);
    for (int i = 0; i < 2400; ++i) {
      absl::StatusOr<v1::Job> j = daemon_->manager()->Get(id);
      ASSERT_TRUE(j.ok());
      if (j->state() == v1::SUCCEEDED) return;
      ASSERT_TRUE(j->state() == v1::QUEUED || j->state() == v1::RUNNING) << j->DebugString();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << id << " did not finish in 4 minutes";
  }

  std::string data_dir_, state_dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<httplib::Client> http_;
  std::unique_ptr<v1::TrainingService::Stub> stub_;
};

TEST_F(HttpTest, MetricsCountJobsEpochsAndRpcs) {
  ASSERT_NO_FATAL_FAILURE(Start());
  http::testing::Exposition before = Metrics();
  EXPECT_EQ(Value(before, "mt_jobs", {{"state", "running"}}), 0);
  EXPECT_EQ(Value(before, "mt_epochs_trained_total"), 0);
  EXPECT_EQ(Value(before, "mt_device_queued_jobs", {{"device", "cpu"}}), 0);
  EXPECT_GT(Value(before, "mt_process_resident_memory_bytes"), 1 << 20);
  const auto submits = [](const http::testing::Exposition& e) {
    absl::StatusOr<double> v =
        e.Value("mt_rpc_requests_total", {{"method", "SubmitJob"}, {"code", "OK"}});
    return v.ok() ? *v : 0.0;  // other tests in this process may have called it before
  };
  const double submits_before = submits(before);

  const std::string id = Submit(SmallSpec());
  // A call that fails: its code is counted under its own label.
  {
    grpc::ClientContext ctx;
    v1::GetJobRequest req;
    req.set_job_id("job-999999");
    v1::Job job;
    EXPECT_EQ(stub_->GetJob(&ctx, req, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  ASSERT_NO_FATAL_FAILURE(WaitFinished(id));
  http::testing::Exposition after = Metrics();
  EXPECT_EQ(Value(after, "mt_jobs", {{"state", "succeeded"}}), 1);
  EXPECT_EQ(Value(after, "mt_epochs_trained_total"), 2);
  EXPECT_EQ(Value(after, "mt_samples_trained_total"), 2 * 128);
  EXPECT_EQ(submits(after), submits_before + 1);
  EXPECT_GE(Value(after, "mt_rpc_requests_total", {{"method", "GetJob"}, {"code", "NOT_FOUND"}}),
            1);
  EXPECT_GE(Value(after, "mt_rpc_duration_seconds_count",
                  {{"method", "GetJob"}, {"code", "NOT_FOUND"}}),
            1);
  EXPECT_EQ(after.families.at("mt_rpc_duration_seconds").type, "histogram");
}

TEST_F(HttpTest, JsonApiForATrainedJob) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::string id = Submit(SmallSpec());
  ASSERT_NO_FATAL_FAILURE(WaitFinished(id));

  json list = GetJson("/api/jobs");
  ASSERT_EQ(list["jobs"].size(), 1u);
  EXPECT_EQ(list["jobs"][0]["id"], id);
  EXPECT_EQ(list["jobs"][0]["state"], "SUCCEEDED");

  json one = GetJson("/api/jobs/" + id);
  EXPECT_EQ(one["job"]["epochs_done"], "2");
  EXPECT_EQ(one["input"], "image");

  // Every event, then the tail from a sequence number: the same events.
  json all = GetJson("/api/jobs/" + id + "/events?from_seq=1");
  ASSERT_GE(all["events"].size(), 5u);
  int epochs = 0, confusions = 0, scalars = 0;
  for (size_t i = 0; i < all["events"].size(); ++i) {
    const json& e = all["events"][i];
    EXPECT_EQ(e["seq"], std::to_string(i + 1));
    epochs += e.contains("epoch");
    confusions += e.contains("confusion");
    scalars += e.contains("scalars");
  }
  EXPECT_EQ(epochs, 2);
  EXPECT_EQ(confusions, 2);
  EXPECT_GE(scalars, 1);
  const int64_t n = static_cast<int64_t>(all["events"].size());
  EXPECT_EQ(all["next_seq"], n + 1);
  EXPECT_EQ(all["finished"], true);
  json tail = GetJson("/api/jobs/" + id + "/events?from_seq=" + std::to_string(n - 1) +
                      "&wait_ms=1000");
  ASSERT_EQ(tail["events"].size(), 2u);
  EXPECT_EQ(tail["events"][1], all["events"][n - 1]);
  EXPECT_EQ(tail["finished"], true);  // a finished job's stream ends at once, wait or not

  // Held-out example 5: the input picture (normalised pixels), every layer, the prediction.
  json act = GetJson("/api/jobs/" + id + "/activations?index=5");
  EXPECT_EQ(act["input"]["shape"], json({1, 28, 28}));
  ASSERT_EQ(act["input"]["data"].size(), 784u);
  float lo = 1e9, hi = -1e9;
  for (float v : act["input"]["data"]) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_LT(lo, hi);  // a digit, not a blank
  ASSERT_GE(act["layers"].size(), 3u);
  for (const json& l : act["layers"]) {
    int64_t size = 1;
    for (int64_t d : l["shape"]) size *= d;
    EXPECT_EQ(static_cast<int64_t>(l["data"].size()), size) << l["name"];
  }
  json pred = GetJson("/api/jobs/" + id + "/predict?index=5");
  EXPECT_EQ(pred["label"], std::to_string(act["label"].get<int64_t>()));
  ASSERT_EQ(pred["probabilities"].size(), 10u);
  double sum = 0;
  for (double p : pred["probabilities"]) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-6);
  json ex = GetJson("/api/jobs/" + id + "/example?index=5");
  EXPECT_EQ(ex["input"], act["input"]);
  EXPECT_EQ(ex["prediction"], pred);

  // Errors name the parameter and what is allowed.
  json bad = GetJson("/api/jobs/" + id + "/activations?index=-3", 400);
  EXPECT_THAT(bad["error"]["message"].get<std::string>(),
              HasSubstr("invalid index '-3': must be an integer from 0 to"));
  json beyond = GetJson("/api/jobs/" + id + "/predict?index=64", 400);
  EXPECT_EQ(beyond["error"]["code"], "OUT_OF_RANGE");  // HTTP 400 too
  json missing = GetJson("/api/jobs/job-424242", 404);
  EXPECT_EQ(missing["error"]["code"], "NOT_FOUND");
}

TEST_F(HttpTest, ServesOnlyTheDashboardsFiles) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto [s1, index] = Get("/");
  EXPECT_EQ(s1, 200);
  EXPECT_THAT(index, HasSubstr("<title>mt dashboard</title>"));
  auto [s2, js] = Get("/app.js");
  EXPECT_EQ(s2, 200);
  EXPECT_THAT(js, HasSubstr("class JobView"));
  for (const char* path :
       {"/../WORKSPACE", "/web/app.js", "/BUILD", "/node_modules/uplot/package.json",
        "/%2e%2e/%2e%2e/etc/passwd", "/index.html/../../BUILD"}) {
    auto [status, body] = Get(path);
    EXPECT_EQ(status, 404) << path;
    EXPECT_THAT(body, ::testing::Not(HasSubstr("cc_library"))) << path;
  }
}

TEST_F(HttpTest, TokensRequiredWhenTheDaemonHasThem) {
  const std::string tokens = testing::FreshDir("tokens") + "/tokens";
  std::ofstream(tokens) << "ann sha256:" << Sha256Hex("ann-secret") << "\n"
                        << "bob sha256:" << Sha256Hex("bob-secret") << "\n";
  ASSERT_NO_FATAL_FAILURE(Start(tokens));
  const std::string id = Submit(SmallSpec(), "ann-secret");

  json none = GetJson("/api/jobs", 401);
  EXPECT_EQ(none["error"]["code"], "UNAUTHENTICATED");
  httplib::Result challenge = http_->Get("/api/jobs");
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->get_header_value("WWW-Authenticate"), "Bearer");
  GetJson("/api/jobs", 401, "wrong");
  EXPECT_EQ(Get("/metrics").first, 401);
  EXPECT_EQ(Get("/metrics", "bob-secret").first, 200);

  json anns = GetJson("/api/jobs", 200, "ann-secret");
  ASSERT_EQ(anns["jobs"].size(), 1u);
  EXPECT_EQ(anns["jobs"][0]["owner"], "ann");
  json bobs = GetJson("/api/jobs", 200, "bob-secret");
  EXPECT_EQ(bobs["jobs"].size(), 0u);
  json denied = GetJson("/api/jobs/" + id + "/events", 403, "bob-secret");
  EXPECT_EQ(denied["error"]["code"], "PERMISSION_DENIED");
  // The page itself holds no data and loads without a token (it asks for one).
  EXPECT_EQ(Get("/").first, 200);
}

TEST(HttpListenTest, RefusesARemoteAddressWithoutTlsAndTokens) {
  Options o;
  o.state_dir = testing::FreshDir("state-remote");
  o.data_dir = testing::FreshDir("data-remote");
  ServeOptions serve;
  serve.listen = "127.0.0.1:0";
  serve.http_listen = "0.0.0.0:0";
  absl::StatusOr<std::unique_ptr<Daemon>> d = Daemon::Start(o, serve);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()),
              HasSubstr("refusing to serve the dashboard and /metrics on 0.0.0.0:0 without TLS"));
  serve.http_listen = "127.0.0.1:notaport";
  d = Daemon::Start(o, serve);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("--http_listen"));
}

}  // namespace
}  // namespace mt::server
