#include "tests/server/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace mt::testing {
namespace {

std::string TmpFile(const std::string& stem) {
  static std::atomic<int> n{0};
  const char* base = std::getenv("TEST_TMPDIR");
  return std::string(base ? base : "/tmp") + "/" + stem + "." + std::to_string(getpid()) + "." +
         std::to_string(n++);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// In the child: redirect, add the environment, exec. Never returns.
[[noreturn]] void Exec(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       int out_fd, int err_fd) {
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

}  // namespace

std::string Runfile(const std::string& path) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/mt/" + path;
}

ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env, int timeout_s) {
  const std::string out_path = TmpFile("out");
  const std::string err_path = TmpFile("err");
  const int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ProcessResult r;
  const pid_t pid = fork();
  if (pid == 0) Exec(argv, env, out_fd, err_fd);
  close(out_fd);
  close(err_fd);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.exited = WIFEXITED(status);
  r.exit_code = r.exited ? WEXITSTATUS(status) : -1;
  r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  r.out = Slurp(out_path);
  r.err = Slurp(err_path);
  return r;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) Stop();
}

bool DaemonProcess::Start(const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {Runfile("server/server")};
  argv.insert(argv.end(), flags.begin(), flags.end());
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  err_path_ = TmpFile("daemon-err");
  const int err_fd = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = fork();
  if (pid_ == 0) Exec(argv, {}, fds[1], err_fd);
  close(fds[1]);
  close(err_fd);
  FILE* out = fdopen(fds[0], "r");
  char line[1024] = {0};
  const bool got = fgets(line, sizeof line, out) != nullptr;
  fclose(out);  // the daemon's later stdout writes (none expected) would get EPIPE
  const std::string s(line);
  const size_t at = s.find("listening on ");
  const size_t colon = at == std::string::npos ? at : s.find(' ', at + 13);
  if (!got || colon == std::string::npos) {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    error_ = Slurp(err_path_);
    return false;
  }
  const std::string address = s.substr(at + 13, colon - (at + 13));
  port_ = std::stoi(address.substr(address.rfind(':') + 1));
  return true;
}

int DaemonProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace mt::testing
