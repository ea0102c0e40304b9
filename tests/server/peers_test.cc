// Scale-out across machines: two daemons in two network namespaces that this test creates
// (root only: `ip netns add`, a veth pair between them; skipped with the reason otherwise, and
// always cleaned up). Daemon A coordinates (--peers=B); a 2-worker job submitted to A with
// mt-client runs rank 0 in A and rank 1 as a worker process that B starts, the two meeting
// through A's gRPC rendezvous store and training over the veth link. The job's final weights
// equal a single mt-train process's with the same global batch; B accepted the peer call only
// with the admin token A was given.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/data/mnist_fixture.h"
#include "engine/io/safetensors.h"
#include "tests/server/fixtures.h"
#include "tests/server/process.h"

namespace mt::server {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::RunProcess;
using testing::Runfile;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string IpBinary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

// Two network namespaces joined by a veth pair: A at 10.213.0.1, B at 10.213.0.2.
class TwoHosts {
 public:
  TwoHosts() : ip_(IpBinary()) {
    const std::string id = std::to_string(getpid() % 100000);
    a_ = "mtA" + id;
    b_ = "mtB" + id;
    veth_a_ = "mva" + id;
    veth_b_ = "mvb" + id;
  }
  ~TwoHosts() {
    // Whatever still runs inside dies with its namespace's deletion only if killed first.
    for (const std::string& ns : {a_, b_}) {
      ProcessResult pids = RunProcess({ip_, "netns", "pids", ns}, {}, 30);
      std::istringstream in(pids.out);
      for (pid_t pid; in >> pid;) kill(pid, SIGKILL);
      RunProcess({ip_, "netns", "del", ns}, {}, 30);
    }
  }

  // "" when both hosts are up, else why not (the reason to skip).
  std::string Create() {
    const std::vector<std::vector<std::string>> steps = {
        {"netns", "add", a_},
        {"netns", "add", b_},
        {"link", "add", veth_a_, "type", "veth", "peer", "name", veth_b_},
        {"link", "set", veth_a_, "netns", a_},
        {"link", "set", veth_b_, "netns", b_},
        {"-n", a_, "addr", "add", "10.213.0.1/24", "dev", veth_a_},
        {"-n", b_, "addr", "add", "10.213.0.2/24", "dev", veth_b_},
        {"-n", a_, "link", "set", veth_a_, "up"},
        {"-n", b_, "link", "set", veth_b_, "up"},
        {"-n", a_, "link", "set", "lo", "up"},
        {"-n", b_, "link", "set", "lo", "up"},
    };
    for (const std::vector<std::string>& step : steps) {
      std::vector<std::string> argv = {ip_};
      argv.insert(argv.end(), step.begin(), step.end());
      ProcessResult r = RunProcess(argv, {}, 30);
      if (!r.exited || r.exit_code != 0) {
        std::string cmd;
        for (const std::string& a : argv) cmd += a + " ";
        return cmd + "failed: " + r.err;
      }
    }
    return "";
  }

  // argv run inside namespace `ns`.
  std::vector<std::string> In(const std::string& ns, std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {ip_, "netns", "exec", ns});
    return argv;
  }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }

 private:
  std::string ip_, a_, b_, veth_a_, veth_b_;
};

// A daemon running inside a namespace until the test ends.
class Daemon {
 public:
  ~Daemon() { Stop(); }
  bool Start(const std::vector<std::string>& argv, const std::string& name) {
    out_ = testing::FreshDir(name) + "/out";
    err_ = out_.substr(0, out_.size() - 3) + "err";
    pid_ = fork();
    if (pid_ == 0) {
      dup2(open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
      dup2(open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Slurp(out_).find("listening on") != std::string::npos) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 600; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string err() const { return Slurp(err_); }

 private:
  pid_t pid_ = -1;
  std::string out_, err_;
};

std::string NewToken(const std::string& tokens_file, const std::string& user, bool admin) {
  std::vector<std::string> argv = {"/bin/bash", Runfile("scripts/mt-token.sh"), "-f",
                                   tokens_file, user};
  if (admin) argv.push_back("admin");
  ProcessResult r = RunProcess(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string token = r.out;
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

double MaxAbsWeightDiff(const std::string& a_path, const std::string& b_path, int* compared) {
  absl::StatusOr<io::TensorFile> a = io::ReadSafetensors(a_path);
  absl::StatusOr<io::TensorFile> b = io::ReadSafetensors(b_path);
  EXPECT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(b.ok()) << b.status();
  *compared = 0;
  if (!a.ok() || !b.ok()) return 1e9;
  double worst = 0;
  for (const auto& [name, t] : a->tensors) {
    if (name.rfind("optim", 0) == 0) continue;
    absl::StatusOr<Tensor> u = b->Get(name);
    EXPECT_TRUE(u.ok()) << name;
    if (!u.ok()) continue;
    std::vector<double> x = t.ToVector(), y = u->ToVector();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      worst = std::max(worst, std::abs(x[i] - y[i]));
    }
    ++*compared;
  }
  return worst;
}

TEST(Peers, TwoDaemonsInTwoNamespacesTrainOneJob) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (ip netns add)";
  if (IpBinary().empty()) GTEST_SKIP() << "needs the ip command (apt-get install iproute2)";
  TwoHosts hosts;
  if (std::string why = hosts.Create(); !why.empty()) {
    GTEST_SKIP() << "cannot create two network namespaces here: " << why;
  }
  const std::string data = testing::FreshDir("data");
  data::testing::WriteMnistIdx(data, data::testing::SyntheticDigits(96, 5),
                               data::testing::SyntheticDigits(30, 6));
  const std::string tokens = testing::FreshDir("auth") + "/tokens";
  const std::string alice = NewToken(tokens, "alice", false);
  const std::string coordinator = NewToken(tokens, "coordinator", true);
  const std::string peer_token_file = testing::FreshDir("peer") + "/token";
  std::ofstream(peer_token_file) << coordinator << "\n";

  const std::string server = Runfile("server/server"), worker = Runfile("server/mt-worker");
  const std::string state_a = testing::FreshDir("state_a");
  Daemon b;
  ASSERT_TRUE(b.Start(hosts.In(hosts.b(), {server, "--listen=10.213.0.2:7002", "--insecure",
                                           "--tokens_file=" + tokens, "--worker_host=10.213.0.2",
                                           "--state_dir=" + testing::FreshDir("state_b"),
                                           "--data_dir=" + data, "--worker_binary=" + worker,
                                           "--worker_timeout_s=60"}),
                      "daemon_b"))
      << b.err();
  Daemon a;
  ASSERT_TRUE(a.Start(
      hosts.In(hosts.a(),
               {server, "--listen=0.0.0.0:7001", "--insecure", "--tokens_file=" + tokens,
                "--peers=10.213.0.2:7002", "--peer_token_file=" + peer_token_file,
                "--advertise=10.213.0.1:7001", "--worker_host=10.213.0.1",
                "--state_dir=" + state_a, "--data_dir=" + data,
                "--worker_binary=" + worker, "--worker_timeout_s=60", "--max_workers=2"}),
      "daemon_a"))
      << a.err();

  // mt-client inside A's namespace, on its loopback.
  const std::string client = Runfile("client/mt-client");
  ProcessResult submit = RunProcess(
      hosts.In(hosts.a(), {client, "--server", "127.0.0.1:7001", "--json", "submit", "mnist",
                           "--workers", "2", "--epochs", "2", "--batch-size", "8",
                           "--train-size", "96", "--threads", "1", "--seed", "7"}),
      {"MT_TOKEN=" + alice});
  ASSERT_EQ(submit.exit_code, 0) << submit.err << a.err();
  const size_t at = submit.out.find("job-");
  ASSERT_NE(at, std::string::npos) << submit.out;
  const std::string id = submit.out.substr(at, 10);
  ProcessResult logs = RunProcess(
      hosts.In(hosts.a(), {client, "--server", "127.0.0.1:7001", "logs", id, "-f"}),
      {"MT_TOKEN=" + alice}, 300);
  std::cout << logs.out;
  ASSERT_EQ(logs.exit_code, 0) << logs.out << logs.err << "\n--- A:\n" << a.err() << "\n--- B:\n"
                               << b.err();
  EXPECT_NE(logs.out.find("(2 workers)"), std::string::npos) << logs.out;
  ProcessResult status = RunProcess(
      hosts.In(hosts.a(), {client, "--server", "127.0.0.1:7001", "status", id}),
      {"MT_TOKEN=" + alice});
  EXPECT_NE(status.out.find("workers: 2 processes (batch 8 each, 16 in all)"), std::string::npos)
      << status.out << status.err;
  // B ran rank 1 for A, on A's admin token.
  EXPECT_NE(b.err().find("rpc PeerStartWorkers -> 0"), std::string::npos) << b.err();

  // The same training in one process, with the global batch.
  const std::string one = testing::FreshDir("one");
  ProcessResult alone = RunProcess(
      {Runfile("engine/train/mt-train"), "--task=mnist", "--model=lenet5", "--epochs=2",
       "--batch_size=16", "--train_size=96", "--seed=7", "--threads=1", "--data_dir=" + data,
       "--checkpoint_dir=" + one},
      {"OMP_WAIT_POLICY=PASSIVE"}, 300);
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  a.Stop();
  b.Stop();
  int compared = 0;
  const double diff = MaxAbsWeightDiff(
      one + "/latest.safetensors", state_a + "/jobs/" + id + "/latest.safetensors", &compared);
  std::cout << "two hosts: 2 workers x batch 8 vs 1 x batch 16: max |diff| " << diff << "\n";
  EXPECT_EQ(compared, 10);
  EXPECT_LE(diff, 1e-6);
}

}  // namespace
}  // namespace mt::server
