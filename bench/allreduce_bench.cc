// mt-allreduce-bench: the time of one gradient all-reduce between real processes on this
// machine, for the buffer sizes of mt's models (issue 11's closing note). Forks --ranks
// processes that rendezvous through a fresh folder, run --warmup untimed all-reduce-averages of
// --floats floats, then --iters timed ones, and rank 0 prints the median and the 10th/90th
// percentiles in milliseconds as one JSON line.
//
//   bazel run -c opt //bench:mt-allreduce-bench -- --floats=61706 --ranks=2
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "engine/dist/file_store.h"
#include "engine/dist/gloo_communicator.h"

ABSL_FLAG(int64_t, floats, 61706, "floats per all-reduce (LeNet-5's gradient: 61,706)");
ABSL_FLAG(int, ranks, 2, "processes");
ABSL_FLAG(int, iters, 200, "timed all-reduces");
ABSL_FLAG(int, warmup, 20, "untimed all-reduces first");

namespace {

int RunRank(int rank, int ranks, const std::string& dir) {
  mt::dist::FileRendezvousStore store(dir);
  mt::dist::GlooOptions options;
  auto comm = mt::dist::GlooCommunicator::Create(rank, ranks, store, options);
  if (!comm.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", rank, std::string(comm.status().message()).c_str());
    return 1;
  }
  std::vector<float> buffer(static_cast<size_t>(absl::GetFlag(FLAGS_floats)), 1.0f + rank);
  std::vector<double> ms;
  const int warmup = absl::GetFlag(FLAGS_warmup), iters = absl::GetFlag(FLAGS_iters);
  for (int i = 0; i < warmup + iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (absl::Status s = (*comm)->AllReduceAverage(buffer.data(), buffer.size()); !s.ok()) {
      std::fprintf(stderr, "rank %d: %s\n", rank, std::string(s.message()).c_str());
      return 1;
    }
    const double t =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (i >= warmup) ms.push_back(t);
  }
  if (rank == 0) {
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) { return ms[static_cast<size_t>(p * (ms.size() - 1))]; };
    std::printf(
        "{\"floats\": %lld, \"bytes\": %lld, \"ranks\": %d, \"iters\": %d, \"median_ms\": %.4f, "
        "\"p10_ms\": %.4f, \"p90_ms\": %.4f}\n",
        static_cast<long long>(buffer.size()), static_cast<long long>(buffer.size() * 4), ranks,
        iters, pct(0.5), pct(0.1), pct(0.9));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int ranks = absl::GetFlag(FLAGS_ranks);
  const std::string dir = "/tmp/mt-allreduce-bench-" + std::to_string(getpid());
  std::vector<pid_t> children;
  for (int r = 1; r < ranks; ++r) {
    const pid_t pid = fork();
    if (pid == 0) _exit(RunRank(r, ranks, dir));
    children.push_back(pid);
  }
  int rc = RunRank(0, ranks, dir);
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
  }
  std::string cleanup = "rm -rf " + dir;
  if (std::system(cleanup.c_str()) != 0) rc = rc ? rc : 0;
  return rc;
}
