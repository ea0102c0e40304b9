// ScaleOut without a network: settings from flags (addresses, bounded token files), the spec a
// coordinator sends, and the bounds a peer checks before starting any worker.
#include "server/scale_out.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "server/job_spec.h"

namespace mt::server {
namespace {

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

TEST(ScaleOut, AdvertisedAddress) {
  EXPECT_EQ(AdvertisedAddress("10.0.0.1:0", 7001), "10.0.0.1:7001");
  EXPECT_EQ(AdvertisedAddress("0.0.0.0:7001", 7001), "127.0.0.1:7001");
  EXPECT_EQ(AdvertisedAddress("[::]:7001", 7001), "127.0.0.1:7001");
}

TEST(ScaleOut, FlagsAreCheckedAndTheTokenTrimmed) {
  Options o;
  o.state_dir = Tmp("state");
  ScaleOutFlags f;
  f.peers = {"host-without-port"};
  absl::StatusOr<std::unique_ptr<ScaleOut>> bad = MakeScaleOut(o, f);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--peers must list HOST:PORT"), std::string::npos);

  f.peers = {"10.0.0.2:7002"};
  f.peer_token_file = Tmp("missing-token");
  EXPECT_NE(MakeScaleOut(o, f).status().message().find("--peer_token_file: cannot read"),
            std::string::npos);
  f.peer_token_file = Tmp("big-token");
  std::ofstream(f.peer_token_file) << std::string(5000, 'x');
  EXPECT_NE(MakeScaleOut(o, f).status().message().find("is larger than 4096 bytes"),
            std::string::npos);
  f.peer_token_file = Tmp("token");
  std::ofstream(f.peer_token_file) << "abc123\n";
  f.worker_host = "10.0.0.1";
  absl::StatusOr<std::unique_ptr<ScaleOut>> ok = MakeScaleOut(o, f);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->peers(), std::vector<std::string>{"10.0.0.2:7002"});
  EXPECT_EQ((*ok)->worker_host(), "10.0.0.1");
  (*ok)->set_advertise("10.0.0.1:7001");
  EXPECT_EQ((*ok)->advertise(), "10.0.0.1:7001");
}

TEST(ScaleOut, TheSpecSentToPeersGivesBackTheConfig) {
  train::TrainConfig c = train::DefaultConfig("mnist", "lenet5");
  c.epochs = 3;
  c.batch_size = 8;
  c.lr = 0.0123;
  c.momentum = 0.0;
  c.train_size = 96;
  c.seed = 7;
  c.threads = 1;
  train::TrainConfig back = ConfigFromResolvedSpec(SpecOfConfig(c));
  EXPECT_EQ(train::ToJson(back), train::ToJson(c));
}

v1::PeerStartWorkersRequest Request() {
  v1::PeerStartWorkersRequest r;
  r.set_scope("job-000001/run-1");
  r.set_secret("0123456789abcdef0123456789abcdef");
  r.set_rendezvous("10.0.0.1:7001");
  train::TrainConfig c = train::DefaultConfig("mnist", "lenet5");
  c.train_size = 96;
  *r.mutable_spec() = SpecOfConfig(c);
  r.add_ranks(1);
  r.set_world_size(2);
  r.set_timeout_s(5);
  return r;
}

TEST(ScaleOut, APeerChecksRequestsBeforeStartingWorkers) {
  ScaleOutOptions o;
  o.worker_binary = "/bin/true";  // exits at once: only the bounds matter here
  o.data_dir = Tmp("data");
  o.log_dir = Tmp("peer-logs");
  o.max_hosted_workers = 2;
  ScaleOut s(o);
  auto expect_invalid = [&](const v1::PeerStartWorkersRequest& r, const std::string& needle) {
    absl::Status st = s.StartHosted(r);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_NE(st.message().find(needle), std::string::npos) << st;
  };
  v1::PeerStartWorkersRequest r = Request();
  r.set_scope("");
  expect_invalid(r, "scope must have 1 to 200 bytes");
  r = Request();
  r.set_world_size(5000);
  expect_invalid(r, "world_size must be in [2, 1024]");
  r = Request();
  r.clear_ranks();
  r.add_ranks(0);
  expect_invalid(r, "rank 0 is outside [1, 2)");
  r = Request();
  r.set_world_size(8);
  for (int rank = 2; rank < 5; ++rank) r.add_ranks(rank);
  expect_invalid(r, "runs 1 to 2 workers per request, not 4");
  r = Request();
  r.set_world_size(4);
  r.add_ranks(1);
  expect_invalid(r, "rank 1 is listed twice");
  r = Request();
  r.mutable_spec()->set_task("nope");
  EXPECT_FALSE(s.StartHosted(r).ok());

  ASSERT_TRUE(s.StartHosted(Request()).ok());
  s.StopHosted("job-000001/run-1");
  s.StopHosted("job-000001/run-1");  // idempotent
}

}  // namespace
}  // namespace mt::server
