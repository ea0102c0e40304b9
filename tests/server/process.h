// Runs the real binaries (//server, //client:mt-client) from integration tests: to completion
// with their output captured, or a daemon kept running while the test talks to it.
#ifndef MT_TESTS_SERVER_PROCESS_H_
#define MT_TESTS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace mt::testing {

// $TEST_SRCDIR/mt/<label path>, e.g. Runfile("server/server").
std::string Runfile(const std::string& path);

struct ProcessResult {
  bool exited = false;  // false: killed by a signal (crash) or by the timeout
  int exit_code = -1;
  int signal = 0;
  std::string out;
  std::string err;
};

// argv[0] is the program. `env` entries ("NAME=value") are added to the test's environment.
// Killed (SIGKILL) after timeout_s; bounded so that a hang fails the test instead of stalling it.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {}, int timeout_s = 120);

// The //server binary, running until Stop() or destruction.
class DaemonProcess {
 public:
  DaemonProcess() = default;
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess();

  // Starts it with `flags` and reads the port from its first line on stdout ("... listening on
  // HOST:PORT ..."). False (with stderr in error()) when it exited instead.
  bool Start(const std::vector<std::string>& flags);
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& error() const { return error_; }
  // SIGTERM, then the exit status (0 after a graceful stop).
  int Stop();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string error_;
  std::string err_path_;
};

}  // namespace mt::testing

#endif  // MT_TESTS_SERVER_PROCESS_H_
