#include "server/state_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace mt::server {

namespace {
constexpr char kLockName[] = "daemon.lock";
}  // namespace

absl::StatusOr<std::unique_ptr<StateDirLock>> StateDirLock::Acquire(
    const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(absl::StrCat(state_dir, "/jobs"), ec);
  if (ec) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create state directory ", state_dir,
                                                    "/jobs: ", ec.message()));
  }
  const std::string path = absl::StrCat(state_dir, "/", kLockName);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    std::string pid = n > 0 ? std::string(buf, n) : "unknown";
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "state directory ", state_dir, " is in use by another mt daemon (pid ", pid, ")"));
  }
  std::string pid = std::to_string(getpid());
  if (ftruncate(fd, 0) == 0) {
    (void)!pwrite(fd, pid.data(), pid.size(), 0);
  }
  return std::unique_ptr<StateDirLock>(new StateDirLock(fd));
}

StateDirLock::~StateDirLock() { close(fd_); }

}  // namespace mt::server
