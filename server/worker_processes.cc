#include "server/worker_processes.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace mt::server {
namespace {

// The last non-empty line of a worker's log (its error, as mt-train prints one), at most 300
// bytes of it: enough to say why without echoing a whole file.
std::string LastLogLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!absl::StripAsciiWhitespace(line).empty()) last = line;
  }
  if (last.size() > 300) last = last.substr(0, 300) + "...";
  return last;
}

}  // namespace

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("was killed by signal ", WTERMSIG(status), " (",
                        strsignal(WTERMSIG(status)), ")");
  }
  return absl::StrCat("ended (wait status ", status, ")");
}

absl::Status WorkerProcesses::Start(int rank, const std::vector<std::string>& argv,
                                    const std::string& log_path,
                                    const std::vector<std::string>& env) {
  if (argv.empty()) return absl::InvalidArgumentError("no worker command");
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args = argv;
  std::vector<char*> cargs;
  for (std::string& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::vector<std::string> env_strings = env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    const bool overridden = std::any_of(env.begin(), env.end(), [&](const std::string& x) {
      return x.compare(0, name.size() + 1, name + "=") == 0;
    });
    if (!overridden) env_strings.push_back(entry);
  }
  std::vector<char*> cenv;
  for (std::string& e : env_strings) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  const bool die_with_thread = die_with_thread_;
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) {
    return absl::UnavailableError(absl::StrCat("cannot start worker rank ", rank, ": cannot open ",
                                               log_path, ": ", std::strerror(errno)));
  }
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (die_with_thread) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);  // the parent died before prctl took effect
    }
    // The daemon blocks SIGINT/SIGTERM in every thread (main.cc); a worker must see them.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(log, 2);
    ::execve(cargs[0], cargs.data(), cenv.data());
    const char msg[] = "cannot execute the worker binary\n";
    (void)!::write(2, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(log);
  if (devnull >= 0) ::close(devnull);
  if (pid < 0) {
    return absl::UnavailableError(absl::StrCat("cannot start worker rank ", rank, ": fork: ",
                                               std::strerror(fork_errno)));
  }
  std::lock_guard<std::mutex> lock(mu_);
  workers_.push_back(Worker{rank, pid, log_path});
  return absl::OkStatus();
}

void WorkerProcesses::ReapLocked(bool block) {
  for (Worker& w : workers_) {
    if (w.done) continue;
    int status = 0;
    const pid_t r = ::waitpid(w.pid, &status, block ? 0 : WNOHANG);
    if (r == w.pid || (r < 0 && errno == ECHILD)) {
      w.done = true;
      w.wait_status = r == w.pid ? status : 0;
    }
  }
}

std::optional<std::string> WorkerProcesses::FirstFailure(const std::vector<int>& ok_exit_codes) {
  std::lock_guard<std::mutex> lock(mu_);
  ReapLocked(false);
  for (const Worker& w : workers_) {
    if (!w.done) continue;
    const int s = w.wait_status;
    if (WIFEXITED(s) && (WEXITSTATUS(s) == 0 ||
                         std::count(ok_exit_codes.begin(), ok_exit_codes.end(), WEXITSTATUS(s)))) {
      continue;
    }
    std::string text = absl::StrCat("worker rank ", w.rank, " (pid ", w.pid, ") ", DescribeExit(s));
    const std::string last = LastLogLine(w.log_path);
    if (!last.empty()) absl::StrAppend(&text, ": ", last);
    return text;
  }
  return std::nullopt;
}

std::string WorkerProcesses::DescribeRunning() {
  std::lock_guard<std::mutex> lock(mu_);
  ReapLocked(false);
  std::string out;
  for (const Worker& w : workers_) {
    if (w.done) continue;
    std::ifstream stat(absl::StrCat("/proc/", w.pid, "/stat"));
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t paren = text.rfind(')');
    const char state = paren != std::string::npos && paren + 2 < text.size() ? text[paren + 2] : '?';
    const char* doing = state == 'T' || state == 't' ? "is stopped (not answering)"
                        : state == 'D'               ? "is blocked in the kernel"
                        : state == 'Z'               ? "has exited"
                                                     : "is still running";
    absl::StrAppend(&out, out.empty() ? "" : "; ", "worker rank ", w.rank, " (pid ", w.pid, ") ",
                    doing);
  }
  return out;
}

bool WorkerProcesses::WaitAll(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ReapLocked(false);
      if (std::all_of(workers_.begin(), workers_.end(), [](const Worker& w) { return w.done; })) {
        return true;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void WorkerProcesses::KillAll() {
  std::lock_guard<std::mutex> lock(mu_);
  ReapLocked(false);
  for (const Worker& w : workers_) {
    if (!w.done) ::kill(w.pid, SIGKILL);
  }
  ReapLocked(true);
}

int WorkerProcesses::running() {
  std::lock_guard<std::mutex> lock(mu_);
  ReapLocked(false);
  return static_cast<int>(
      std::count_if(workers_.begin(), workers_.end(), [](const Worker& w) { return !w.done; }));
}

std::vector<pid_t> WorkerProcesses::pids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pid_t> out;
  for (const Worker& w : workers_) out.push_back(w.pid);
  return out;
}

}  // namespace mt::server
