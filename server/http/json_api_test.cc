#include "server/http/json_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "server/http/fake_job_manager.h"

namespace mt::server::http {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;
using testing::FakeJobManager;

v1::Job MakeJob(const std::string& id, const std::string& owner, v1::JobState state) {
  v1::Job j;
  j.set_id(id);
  j.set_owner(owner);
  j.set_state(state);
  j.mutable_spec()->set_task("mnist");
  j.mutable_spec()->set_epochs(3);
  return j;
}

class JsonApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::JobEvent queued;
    queued.mutable_state()->set_state(v1::QUEUED);
    v1::JobEvent epoch;
    epoch.mutable_epoch()->set_epoch(1);
    epoch.mutable_epoch()->set_valid_accuracy(0.75);
    manager_.SetJob(MakeJob("job-000001", "ann", v1::RUNNING), {queued, epoch});
    manager_.SetJob(MakeJob("job-000002", "bob", v1::SUCCEEDED), {queued});
  }

  // Status and parsed body.
  std::pair<int, json> Get(JsonApi& api, const std::string& path,
                           std::map<std::string, std::string> query = {},
                           const std::string& authorization = "") {
    ApiRequest r;
    r.path = path;
    r.query = std::move(query);
    r.authorization = authorization;
    ApiResponse resp = api.Handle(r);
    json body = json::parse(resp.body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << resp.body;
    return {resp.status, body};
  }

  FakeJobManager manager_;
};

TEST_F(JsonApiTest, ListsJobsNewestFirstWithProtoFieldNames) {
  JsonApi api(&manager_, nullptr);
  auto [status, body] = Get(api, "/api/jobs");
  ASSERT_EQ(status, 200);
  ASSERT_EQ(body["jobs"].size(), 2u);
  EXPECT_EQ(body["jobs"][0]["id"], "job-000002");
  EXPECT_EQ(body["jobs"][1]["state"], "RUNNING");
  EXPECT_EQ(body["jobs"][1]["spec"]["epochs"], "3");  // proto3 JSON: int64 as a string
  auto [s2, running] = Get(api, "/api/jobs", {{"state", "running"}});
  ASSERT_EQ(s2, 200);
  ASSERT_EQ(running["jobs"].size(), 1u);
  EXPECT_EQ(running["jobs"][0]["id"], "job-000001");
}

TEST_F(JsonApiTest, OneJobWithItsClassNames) {
  JsonApi api(&manager_, nullptr);
  auto [status, body] = Get(api, "/api/jobs/job-000001");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(body["job"]["id"], "job-000001");
  EXPECT_EQ(body["input"], "image");
  ASSERT_EQ(body["class_names"].size(), 10u);
  EXPECT_EQ(body["class_names"][3], "3");
}

TEST_F(JsonApiTest, EventsFromASequenceNumberWithProgress) {
  JsonApi api(&manager_, nullptr);
  auto [status, all] = Get(api, "/api/jobs/job-000001/events");
  ASSERT_EQ(status, 200);
  ASSERT_EQ(all["events"].size(), 2u);
  EXPECT_EQ(all["events"][0]["seq"], "1");
  EXPECT_EQ(all["events"][0]["state"]["state"], "QUEUED");
  EXPECT_EQ(all["events"][1]["epoch"]["valid_accuracy"], 0.75);
  EXPECT_EQ(all["next_seq"], 3);
  EXPECT_TRUE(all["progress"].is_null());
  EXPECT_EQ(all["finished"], true);  // wait_ms=0 replays and ends

  auto [s2, tail] = Get(api, "/api/jobs/job-000001/events", {{"from_seq", "2"}});
  ASSERT_EQ(s2, 200);
  ASSERT_EQ(tail["events"].size(), 1u);
  EXPECT_EQ(tail["events"][0]["seq"], "2");

  v1::BatchProgress p;
  p.set_epoch(2);
  p.set_batch(7);
  p.set_num_batches(10);
  p.set_mean_loss(0.5);
  manager_.SetProgress("job-000001", p);
  auto [s3, live] = Get(api, "/api/jobs/job-000001/events",
                        {{"from_seq", "3"}, {"wait_ms", "100"}, {"progress_version", "0"}});
  ASSERT_EQ(s3, 200);
  EXPECT_EQ(live["events"].size(), 0u);
  EXPECT_EQ(live["progress"]["progress"]["batch"], "7");
  EXPECT_EQ(live["progress_version"], 1);
  EXPECT_EQ(live["next_seq"], 3);
}

TEST_F(JsonApiTest, RefusesBadParametersWithClearErrors) {
  JsonApi api(&manager_, nullptr);
  struct Case {
    std::string path;
    std::map<std::string, std::string> query;
    int status;
    std::string code, says;
  };
  const std::vector<Case> cases = {
      {"/api/jobs/job-000001/events", {{"from_seq", "x"}}, 400, "INVALID_ARGUMENT",
       "invalid from_seq 'x': must be an integer from 1 to"},
      {"/api/jobs/job-000001/events", {{"wait_ms", "20001"}}, 400, "INVALID_ARGUMENT",
       "wait_ms '20001': must be an integer from 0 to 20000"},
      {"/api/jobs/job-000001/events", {{"from_seq", "-1"}}, 400, "INVALID_ARGUMENT", "from_seq"},
      {"/api/jobs/job-000001/events", {{"from_seq", "99999999999999999999"}}, 400,
       "INVALID_ARGUMENT", "from_seq"},
      {"/api/jobs/job-000001/events", {{"bogus", "1"}}, 400, "INVALID_ARGUMENT",
       "unknown query parameter 'bogus'; this endpoint takes from_seq, progress_version, wait_ms"},
      {"/api/jobs/job-000001/activations", {}, 400, "INVALID_ARGUMENT",
       "missing query parameter index"},
      {"/api/jobs/job-000001/activations", {{"index", "1e3"}}, 400, "INVALID_ARGUMENT", "index"},
      {"/api/jobs/job-000009", {}, 404, "NOT_FOUND", "no job job-000009"},
      {"/api/jobs/job-000001/nope", {}, 404, "NOT_FOUND", "a job has /events"},
      {"/api/other", {}, 404, "NOT_FOUND", "no such endpoint '/api/other'"},
      {"/api/jobs", {{"state", "sleeping"}}, 400, "INVALID_ARGUMENT", "invalid state 'sleeping'"},
      // Bytes that are not UTF-8 are quoted back as U+FFFD, not a failed 500.
      {"/api/\xff", {}, 404, "NOT_FOUND", "no such endpoint '/api/\xef\xbf\xbd'"},
      {"/api/jobs", {{"\xc3", "1"}}, 400, "INVALID_ARGUMENT", "unknown query parameter"},
      {"/api/jobs", {{"state", std::string(39, 'a') + "\xc3\xa9"}}, 400, "INVALID_ARGUMENT",
       "invalid state"},
  };
  for (const Case& c : cases) {
    auto [status, body] = Get(api, c.path, c.query);
    EXPECT_EQ(status, c.status) << c.path;
    EXPECT_EQ(body["error"]["code"], c.code) << c.path;
    EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr(c.says)) << c.path;
  }
}

TEST_F(JsonApiTest, ActivationsExampleAndPredictForAValidationIndex) {
  manager_.activations.label = 7;
  manager_.activations.input.shape = {1, 2, 2};
  manager_.activations.input.values = {0, 0.5f, 1, -1};
  manager_.activations.layers.push_back({"conv1", {1, 2, 1, 1}, {0.25f, -2}});
  manager_.prediction.add_probabilities(0.9);
  manager_.prediction.add_probabilities(0.1);
  manager_.prediction.set_predicted_class(0);
  manager_.prediction.set_label(7);
  JsonApi api(&manager_, nullptr);
  auto [status, a] = Get(api, "/api/jobs/job-000001/activations", {{"index", "42"}});
  ASSERT_EQ(status, 200) << a;
  EXPECT_EQ(manager_.last_input.kind, ModelInput::Kind::kValidIndex);
  EXPECT_EQ(manager_.last_input.valid_index, 42);
  EXPECT_EQ(a["label"], 7);
  EXPECT_EQ(a["input"]["shape"], json({1, 2, 2}));
  EXPECT_EQ(a["input"]["data"], json({0.0, 0.5, 1.0, -1.0}));
  ASSERT_EQ(a["layers"].size(), 1u);
  EXPECT_EQ(a["layers"][0]["name"], "conv1");
  EXPECT_EQ(a["layers"][0]["data"], json({0.25, -2.0}));

  auto [s2, ex] = Get(api, "/api/jobs/job-000001/example", {{"index", "3"}});
  ASSERT_EQ(s2, 200);
  EXPECT_FALSE(ex.contains("layers"));
  EXPECT_EQ(ex["prediction"]["predicted_class"], "0");
  EXPECT_EQ(ex["input"]["shape"], json({1, 2, 2}));

  auto [s3, p] = Get(api, "/api/jobs/job-000001/predict", {{"index", "3"}});
  ASSERT_EQ(s3, 200);
  EXPECT_EQ(p["probabilities"], json({0.9, 0.1}));
  EXPECT_EQ(p["label"], "7");
}

TEST_F(JsonApiTest, TokensAsForGrpc) {
  absl::StatusOr<TokenTable> tokens = TokenTable::Parse(
      "ann sha256:" + Sha256Hex("ann-token") + "\nroot admin sha256:" + Sha256Hex("root-token") +
          "\n",
      "test tokens");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  JsonApi api(&manager_, &*tokens);

  auto [s1, none] = Get(api, "/api/jobs");
  EXPECT_EQ(s1, 401);
  EXPECT_EQ(none["error"]["code"], "UNAUTHENTICATED");
  auto [s2, wrong] = Get(api, "/api/jobs", {}, "Bearer not-a-token");
  EXPECT_EQ(s2, 401);

  // ann sees her job only, and may not read bob's.
  auto [s3, mine] = Get(api, "/api/jobs", {}, "Bearer ann-token");
  ASSERT_EQ(s3, 200);
  ASSERT_EQ(mine["jobs"].size(), 1u);
  EXPECT_EQ(mine["jobs"][0]["id"], "job-000001");
  auto [s4, theirs] = Get(api, "/api/jobs/job-000002/events", {}, "Bearer ann-token");
  EXPECT_EQ(s4, 403);
  EXPECT_EQ(theirs["error"]["code"], "PERMISSION_DENIED");
  // An admin sees both.
  auto [s5, all] = Get(api, "/api/jobs", {}, "Bearer root-token");
  ASSERT_EQ(s5, 200);
  EXPECT_EQ(all["jobs"].size(), 2u);
}

}  // namespace
}  // namespace mt::server::http
