// The worker processes of one multi-worker run on this machine: started with their ranks,
// watched, and stopped. Owns the child processes; nothing here knows about training.
//
// Children get SIGKILL if the thread that started them ends (PR_SET_PDEATHSIG, unless asked
// not to), so a daemon that dies (or a run thread that returns without cleaning up) leaves no
// orphaned worker training on its own; their stdout goes nowhere and their stderr to a log file
// per rank.
#ifndef MT_SERVER_WORKER_PROCESSES_H_
#define MT_SERVER_WORKER_PROCESSES_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace mt::server {

// How a worker ended, in words: "exited with status 1", "was killed by signal 9 (Killed)".
std::string DescribeExit(int wait_status);

class WorkerProcesses {
 public:
  // die_with_thread: children get SIGKILL when the thread that started them ends (a run's
  // thread); false for starts from threads that may end early (a peer daemon's RPC handlers).
  explicit WorkerProcesses(bool die_with_thread = true) : die_with_thread_(die_with_thread) {}
  WorkerProcesses(const WorkerProcesses&) = delete;
  WorkerProcesses& operator=(const WorkerProcesses&) = delete;
  // Kills and reaps whatever still runs.
  ~WorkerProcesses() { KillAll(); }

  // Starts argv (argv[0] an executable path) as `rank`, stderr appended to log_path, with `env`
  // ("NAME=value", e.g. secrets that must not show in ps) added to this process's environment.
  // Unavailable naming the rank when it cannot be started.
  absl::Status Start(int rank, const std::vector<std::string>& argv, const std::string& log_path,
                     const std::vector<std::string>& env = {});

  // Reaps children that have ended (non-blocking). The first that ended abnormally (a signal,
  // or an exit status other than 0 and `ok_exit_codes`) as "worker rank R (pid P) <how>:
  // <the last line of its log>", if any.
  std::optional<std::string> FirstFailure(const std::vector<int>& ok_exit_codes = {});

  // The children still running, with what the kernel says they are doing, e.g. "worker rank 1
  // (pid 42) is stopped (not answering)"; "" when none run. For a run whose collective timed
  // out: the hung worker is among these.
  std::string DescribeRunning();

  // Waits up to `timeout` for every child to end; true when all have.
  bool WaitAll(std::chrono::milliseconds timeout);

  // SIGKILL to every child still running, then reaps them all. Idempotent.
  void KillAll();

  // Children not yet ended.
  int running();
  std::vector<pid_t> pids() const;

 private:
  struct Worker {
    int rank = 0;
    pid_t pid = -1;
    std::string log_path;
    bool done = false;
    int wait_status = 0;
  };
  void ReapLocked(bool block);

  const bool die_with_thread_ = true;
  mutable std::mutex mu_;
  std::vector<Worker> workers_;  // guarded by mu_
};

}  // namespace mt::server

#endif  // MT_SERVER_WORKER_PROCESSES_H_
