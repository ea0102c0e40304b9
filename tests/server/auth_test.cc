// A real daemon on loopback with TLS and bearer tokens (certificates and tokens made at test
// time by scripts/make-certs.sh and scripts/mt-token.sh): no or a wrong token is
// UNAUTHENTICATED, another user's job is PERMISSION_DENIED on every call, an admin sees and acts
// on all, a plain-text client cannot talk to the TLS daemon, mt-client works end to end with
// --tls-ca and MT_TOKEN / --token-file, and a user's queued jobs are limited.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "engine/data/mnist_fixture.h"
#include "proto/training.grpc.pb.h"
#include "server/service.h"
#include "tests/server/fixtures.h"
#include "tests/server/process.h"

namespace mt::server {
namespace {

using ::testing::HasSubstr;
using mt::testing::FreshDir;
using mt::testing::ProcessResult;
using mt::testing::RunProcess;
using mt::testing::Runfile;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One token per user, made by scripts/mt-token.sh into `tokens_file`.
std::string NewToken(const std::string& tokens_file, const std::string& user, bool admin) {
  std::vector<std::string> argv = {"/bin/bash", Runfile("scripts/mt-token.sh"), "-f",
                                   tokens_file, user};
  if (admin) argv.push_back("admin");
  ProcessResult r = RunProcess(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string token(absl::StripAsciiWhitespace(r.out));
  EXPECT_EQ(token.size(), 64u) << r.out;
  return token;
}

class AuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new std::string(FreshDir("certs"));
    ProcessResult r = RunProcess(
        {"/bin/bash", Runfile("scripts/make-certs.sh"), "-o", *certs_, "localhost", "127.0.0.1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string dir = FreshDir("tokens");
    tokens_file_ = new std::string(dir + "/tokens");
    alice_ = new std::string(NewToken(*tokens_file_, "alice", false));
    bob_ = new std::string(NewToken(*tokens_file_, "bob", false));
    root_ = new std::string(NewToken(*tokens_file_, "root", true));
    // The file holds hashes only, never the tokens.
    const std::string file = Slurp(*tokens_file_);
    EXPECT_EQ(file.find(*alice_), std::string::npos);
    EXPECT_THAT(file, HasSubstr("root admin sha256:"));
  }

  void SetUp() override {
    data_dir_ = FreshDir("auth-data");
    data::testing::WriteMnistIdx(data_dir_, data::testing::SyntheticDigits(256, 1),
                                 data::testing::SyntheticDigits(64, 2));
  }

  void StartDaemon(bool tls, int max_queued = 100) {
    Options o;
    o.state_dir = FreshDir("auth-state");
    o.data_dir = data_dir_;
    o.cpu_threads = 1;
    o.max_queued_per_user = max_queued;
    ServeOptions serve;
    serve.listen = "127.0.0.1:0";
    serve.tokens_file = *tokens_file_;
    if (tls) {
      serve.tls_cert_file = *certs_ + "/server.pem";
      serve.tls_key_file = *certs_ + "/server.key";
    }
    absl::StatusOr<std::unique_ptr<Daemon>> d = Daemon::Start(o, serve);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = std::move(*d);
    address_ = "127.0.0.1:" + std::to_string(daemon_->port());
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
    if (tls) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = Slurp(*certs_ + "/ca.pem");
      creds = grpc::SslCredentials(ssl);
    }
    stub_ = v1::TrainingService::NewStub(grpc::CreateChannel(address_, creds));
  }

  // A context carrying `token` ("" = none) with a generous deadline.
  static std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  static v1::JobSpec Spec(int epochs) {
    v1::JobSpec s;
    s.set_task("mnist");
    s.set_model("lenet5");
    s.set_epochs(epochs);
    s.set_batch_size(32);
    s.set_threads(1);
    s.set_train_size(64);
    s.set_valid_size(32);
    return s;
  }

  grpc::Status Submit(const std::string& token, int epochs, v1::Job* job) {
    v1::SubmitJobRequest req;
    *req.mutable_spec() = Spec(epochs);
    return stub_->SubmitJob(As(token).get(), req, job);
  }

  std::vector<std::string> ListIds(const std::string& token) {
    v1::ListJobsResponse resp;
    grpc::Status s = stub_->ListJobs(As(token).get(), v1::ListJobsRequest(), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const v1::Job& j : resp.jobs()) ids.push_back(j.id());
    return ids;
  }

  grpc::Status Get(const std::string& token, const std::string& id, v1::Job* job) {
    v1::GetJobRequest req;
    req.set_job_id(id);
    return stub_->GetJob(As(token).get(), req, job);
  }

  // Every call on a job, as `token`: their codes, in the order Get, Cancel, Resume, Watch,
  // Predict, Activations, Export.
  std::vector<grpc::StatusCode> EveryJobCall(const std::string& token, const std::string& id) {
    std::vector<grpc::StatusCode> codes;
    v1::Job job;
    codes.push_back(Get(token, id, &job).error_code());
    v1::CancelJobRequest cr;
    cr.set_job_id(id);
    codes.push_back(stub_->CancelJob(As(token).get(), cr, &job).error_code());
    v1::ResumeJobRequest rr;
    rr.set_job_id(id);
    codes.push_back(stub_->ResumeJob(As(token).get(), rr, &job).error_code());
    {
      v1::WatchJobRequest wr;
      wr.set_job_id(id);
      wr.set_from_seq(1);
      auto ctx = As(token);
      auto reader = stub_->WatchJob(ctx.get(), wr);
      v1::JobEvent e;
      int events = 0;
      while (reader->Read(&e)) ++events;
      grpc::Status s = reader->Finish();
      if (!s.ok()) {
        EXPECT_EQ(events, 0) << "no event of a job one may not see";
      }
      codes.push_back(s.error_code());
    }
    v1::PredictRequest pr;
    pr.set_job_id(id);
    pr.set_valid_index(0);
    v1::PredictResponse presp;
    codes.push_back(stub_->Predict(As(token).get(), pr, &presp).error_code());
    {
      v1::ActivationsRequest ar;
      ar.set_job_id(id);
      ar.set_valid_index(0);
      auto ctx = As(token);
      auto reader = stub_->GetActivations(ctx.get(), ar);
      v1::ActivationChunk c;
      while (reader->Read(&c)) {
      }
      codes.push_back(reader->Finish().error_code());
    }
    {
      v1::ExportModelRequest er;
      er.set_job_id(id);
      auto ctx = As(token);
      auto reader = stub_->ExportModel(ctx.get(), er);
      v1::FileChunk c;
      while (reader->Read(&c)) {
      }
      codes.push_back(reader->Finish().error_code());
    }
    return codes;
  }

  v1::Job WaitForState(const std::string& id, v1::JobState want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
    v1::Job job;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Get(*root_, id, &job).ok() && job.state() == want) return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << id << " never reached " << v1::JobState_Name(want) << "; it is "
                  << v1::JobState_Name(job.state());
    return job;
  }

  static inline std::string* certs_ = nullptr;
  static inline std::string* tokens_file_ = nullptr;
  static inline std::string* alice_ = nullptr;
  static inline std::string* bob_ = nullptr;
  static inline std::string* root_ = nullptr;
  std::string data_dir_;
  std::string address_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<v1::TrainingService::Stub> stub_;
};

TEST_F(AuthTest, NoTokenOrWrongTokenIsUnauthenticated) {
  StartDaemon(/*tls=*/true);
  for (const std::string& token : {std::string(), std::string("wrong-token"),
                                   std::string(64, 'a')}) {
    v1::Job job;
    grpc::Status s = Submit(token, 1, &job);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << token;
    EXPECT_THAT(s.error_message(), HasSubstr("authorization: Bearer TOKEN"));
    v1::ListJobsResponse resp;
    EXPECT_EQ(stub_->ListJobs(As(token).get(), v1::ListJobsRequest(), &resp).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    v1::ListDevicesResponse devices;
    EXPECT_EQ(stub_->ListDevices(As(token).get(), v1::ListDevicesRequest(), &devices).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    for (grpc::StatusCode code : EveryJobCall(token, "job-1")) {
      EXPECT_EQ(code, grpc::StatusCode::UNAUTHENTICATED) << token;
    }
  }
  // A token's hash from the file is not a token.
  v1::ListJobsResponse resp;
  EXPECT_EQ(stub_->ListJobs(As("sha256:" + std::string(64, '0')).get(), v1::ListJobsRequest(),
                            &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, JobsBelongToTheirSubmitterAndAdminsSeeAll) {
  StartDaemon(/*tls=*/true);
  v1::Job a, b;
  ASSERT_TRUE(Submit(*alice_, 1, &a).ok());
  ASSERT_TRUE(Submit(*bob_, 1, &b).ok());
  EXPECT_EQ(a.owner(), "alice");
  EXPECT_EQ(b.owner(), "bob");
  WaitForState(a.id(), v1::SUCCEEDED);
  WaitForState(b.id(), v1::SUCCEEDED);

  // Bob gets PERMISSION_DENIED on every call on Alice's job, and does not see it listed.
  for (grpc::StatusCode code : EveryJobCall(*bob_, a.id())) {
    EXPECT_EQ(code, grpc::StatusCode::PERMISSION_DENIED);
  }
  v1::Job got;
  grpc::Status denied = Get(*bob_, a.id(), &got);
  EXPECT_THAT(denied.error_message(), HasSubstr(a.id() + " belongs to another user"));
  EXPECT_EQ(ListIds(*bob_), std::vector<std::string>{b.id()});
  EXPECT_EQ(ListIds(*alice_), std::vector<std::string>{a.id()});
  // The owner may do all of it (Cancel of a finished job returns it; Resume of a SUCCEEDED
  // job is FAILED_PRECONDITION, which is past the ownership check).
  std::vector<grpc::StatusCode> own = EveryJobCall(*alice_, a.id());
  EXPECT_EQ(own, (std::vector<grpc::StatusCode>{
                     grpc::StatusCode::OK, grpc::StatusCode::OK,
                     grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::OK,
                     grpc::StatusCode::OK, grpc::StatusCode::OK, grpc::StatusCode::OK}));
  // The admin sees both (newest first) and may act on either.
  EXPECT_EQ(ListIds(*root_), (std::vector<std::string>{b.id(), a.id()}));
  EXPECT_EQ(EveryJobCall(*root_, b.id()), own);
  ASSERT_TRUE(Get(*root_, a.id(), &got).ok());
  EXPECT_EQ(got.owner(), "alice");
  // An unknown job is NOT_FOUND for anyone authenticated.
  EXPECT_EQ(Get(*bob_, "job-999", &got).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AuthTest, PlainTextClientCannotTalkToTheTlsDaemon) {
  StartDaemon(/*tls=*/true);
  auto plain = v1::TrainingService::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  auto ctx = As(*root_);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListJobsResponse resp;
  grpc::Status s = plain->ListJobs(ctx.get(), v1::ListJobsRequest(), &resp);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.error_code(), grpc::StatusCode::OK);
  // A TLS client that does not trust the daemon's CA fails as well.
  const std::string other = FreshDir("other-ca");
  ASSERT_EQ(RunProcess({"/bin/bash", Runfile("scripts/make-certs.sh"), "-o", other}).exit_code, 0);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = Slurp(other + "/ca.pem");
  auto untrusting = v1::TrainingService::NewStub(
      grpc::CreateChannel(address_, grpc::SslCredentials(ssl)));
  auto ctx2 = As(*root_);
  ctx2->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  EXPECT_FALSE(untrusting->ListJobs(ctx2.get(), v1::ListJobsRequest(), &resp).ok());
  // The trusting client (the fixture's) works.
  EXPECT_TRUE(ListIds(*root_).empty());
}

TEST_F(AuthTest, MtClientWithTlsCaAndToken) {
  StartDaemon(/*tls=*/true);
  v1::Job a;
  ASSERT_TRUE(Submit(*alice_, 1, &a).ok());
  const std::string client = Runfile("client/mt-client");
  const std::string ca = *certs_ + "/ca.pem";
  // MT_TOKEN.
  ProcessResult r = RunProcess({client, "--server", address_, "--tls-ca", ca, "list"},
                               {"MT_TOKEN=" + *alice_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(a.id()));
  // --token-file (a trailing newline is fine); bob sees nothing and may not read alice's job.
  const std::string bob_file = FreshDir("bobtok") + "/token";
  std::ofstream(bob_file) << *bob_ << "\n";
  r = RunProcess({client, "--server", address_, "--tls-ca", ca, "--token-file", bob_file,
                  "status", a.id()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("belongs to another user"));
  // No token: told how to send one.
  r = RunProcess({client, "--server", address_, "--tls-ca", ca, "list"}, {"MT_TOKEN="});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("MT_TOKEN"));
  // Without --tls-ca against the TLS daemon: cannot reach it, with the hint.
  r = RunProcess({client, "--server", address_, "list"}, {"MT_TOKEN=" + *alice_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--tls-ca"));
  // A token is never sent in plain text to another machine: refused before connecting.
  r = RunProcess({client, "--server", "192.0.2.1:50051", "list"}, {"MT_TOKEN=" + *alice_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "mt-client: not sending a token without TLS to 192.0.2.1:50051: pass --tls-ca CA.pem "
            "(the CA that signed the daemon's certificate)\n");
}

TEST_F(AuthTest, QueuedJobsPerUserAreLimited) {
  // Tokens over plain text on loopback (allowed there) and a limit of 2 queued jobs a user.
  StartDaemon(/*tls=*/false, /*max_queued=*/2);
  v1::Job running;
  ASSERT_TRUE(Submit(*alice_, 200, &running).ok());  // occupies the one CPU slot
  WaitForState(running.id(), v1::RUNNING);
  v1::Job q1, q2, refused;
  ASSERT_TRUE(Submit(*alice_, 1, &q1).ok());
  ASSERT_TRUE(Submit(*alice_, 1, &q2).ok());
  EXPECT_EQ(q2.state(), v1::QUEUED);
  grpc::Status s = Submit(*alice_, 1, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(),
            "user alice already has 2 queued jobs, the most allowed (--max_queued_per_user=2); "
            "wait for some to start or cancel some, then submit again");
  // Per user: bob may still queue.
  v1::Job bobs;
  EXPECT_TRUE(Submit(*bob_, 1, &bobs).ok());
  // Cancelling one of alice's queued jobs makes room again.
  v1::CancelJobRequest cr;
  cr.set_job_id(q1.id());
  v1::Job cancelled;
  ASSERT_TRUE(stub_->CancelJob(As(*alice_).get(), cr, &cancelled).ok());
  EXPECT_EQ(cancelled.state(), v1::CANCELLED);
  v1::Job again;
  EXPECT_TRUE(Submit(*alice_, 1, &again).ok());
  // Resuming the cancelled job would queue a third: refused the same way.
  v1::ResumeJobRequest rr;
  rr.set_job_id(q1.id());
  v1::Job resumed;
  s = stub_->ResumeJob(As(*alice_).get(), rr, &resumed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(),
            "user alice already has 2 queued jobs, the most allowed (--max_queued_per_user=2); "
            "wait for some to start or cancel some, then resume again");
  for (const std::string& id : {running.id(), q2.id(), again.id(), bobs.id()}) {
    cr.set_job_id(id);
    stub_->CancelJob(As(*root_).get(), cr, &cancelled);
  }
}

// DeleteJob is checked against the owner like CancelJob; PruneJobs only ever sees the caller's
// jobs (an admin's: everyone's).
TEST_F(AuthTest, DeleteAndPruneAreTheOwnersOnly) {
  StartDaemon(/*tls=*/false);
  v1::Job alices, bobs;
  ASSERT_TRUE(Submit(*alice_, 1, &alices).ok());
  ASSERT_TRUE(Submit(*bob_, 1, &bobs).ok());
  WaitForState(alices.id(), v1::SUCCEEDED);
  WaitForState(bobs.id(), v1::SUCCEEDED);

  v1::DeleteJobRequest dr;
  dr.set_job_id(alices.id());
  v1::DeleteJobResponse deleted;
  EXPECT_EQ(stub_->DeleteJob(As(*bob_).get(), dr, &deleted).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->DeleteJob(As("").get(), dr, &deleted).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Bob's prune sees only his own job.
  v1::PruneJobsRequest pr;
  pr.set_dry_run(true);
  v1::PruneJobsResponse pruned;
  ASSERT_TRUE(stub_->PruneJobs(As(*bob_).get(), pr, &pruned).ok());
  EXPECT_THAT(pruned.job_ids(), ::testing::ElementsAre(bobs.id()));
  EXPECT_GT(pruned.bytes_freed(), 0);
  pr.set_older_than_seconds(-1);
  EXPECT_EQ(stub_->PruneJobs(As(*bob_).get(), pr, &pruned).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  ASSERT_TRUE(stub_->DeleteJob(As(*alice_).get(), dr, &deleted).ok());
  EXPECT_EQ(deleted.job_id(), alices.id());
  EXPECT_GT(deleted.bytes_freed(), 0);
  v1::Job job;
  EXPECT_EQ(Get(*root_, alices.id(), &job).error_code(), grpc::StatusCode::NOT_FOUND);
  // The admin prunes everyone's.
  pr.set_older_than_seconds(0);
  pr.set_dry_run(false);
  ASSERT_TRUE(stub_->PruneJobs(As(*root_).get(), pr, &pruned).ok());
  EXPECT_THAT(pruned.job_ids(), ::testing::ElementsAre(bobs.id()));
  EXPECT_TRUE(ListIds(*root_).empty());
}

}  // namespace
}  // namespace mt::server
