#include "engine/train/mt_train_process_testing.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/data/mnist_fixture.h"

extern char** environ;

namespace mt::train::testing {

std::string Tmp() { return std::getenv("TEST_TMPDIR"); }

std::string MtTrain() {
  return std::string(std::getenv("TEST_SRCDIR")) + "/mt/engine/train/mt-train";
}

const std::string& DataDir() {
  static const std::string* dir = [] {
    auto* d = new std::string(Tmp() + "/data");
    data::testing::WriteMnistIdx(*d, data::testing::SyntheticDigits(96, 5),
                                 data::testing::SyntheticDigits(30, 6));
    return d;
  }();
  return *dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Child::Wait(int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid, SIGKILL);
  waitpid(pid, &status, 0);
  return false;
}

int Child::exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

Child Spawn(const std::string& name, std::vector<std::string> args,
            const std::vector<std::string>& env) {
  Child c;
  c.out = Tmp() + "/" + name + ".out";
  c.err = Tmp() + "/" + name + ".err";
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  c.pid = fork();
  if (c.pid == 0) {
    setpgid(0, 0);  // its own group, so a hung launcher is killed with its workers
    int out = open(c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    // Rank and size must come from the test: Slurm's variables win over Open MPI's in
    // mt-train, and would steer mpirun to Slurm.
    std::vector<std::string> slurm;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "SLURM_", 6) == 0) {
        const std::string entry = *e;
        slurm.push_back(entry.substr(0, entry.find('=')));
      }
    }
    for (const std::string& var : slurm) unsetenv(var.c_str());
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return c;
}

double MaxAbsDiff(const io::TensorFile& a, const io::TensorFile& b, int* compared) {
  double worst = 0;
  *compared = 0;
  for (const auto& [name, t] : a.tensors) {
    // The model's weights (optimiser state, "optim.*", follows from them).
    if (name.rfind("optim", 0) == 0) continue;
    absl::StatusOr<Tensor> u = b.Get(name);
    EXPECT_TRUE(u.ok()) << name;
    if (!u.ok()) continue;
    std::vector<double> x = t.ToVector(), y = u->ToVector();
    EXPECT_EQ(x.size(), y.size()) << name;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      worst = std::max(worst, std::abs(x[i] - y[i]));
    }
    ++*compared;
  }
  return worst;
}

}  // namespace mt::train::testing
