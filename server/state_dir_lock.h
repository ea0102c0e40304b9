// The daemon's claim on its state directory: an exclusive flock on <state_dir>/daemon.lock,
// which holds the owner's pid. Two daemons on one state directory would both "recover" the
// other's running jobs; the second one is refused instead, naming the first one's pid.
//
// The lock belongs to the open file, so the kernel drops it when the process dies (kill -9
// included): a stale lock file never blocks a restart.
#ifndef MT_SERVER_STATE_DIR_LOCK_H_
#define MT_SERVER_STATE_DIR_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mt::server {

class StateDirLock {
 public:
  // Creates `state_dir` and its jobs/ folder when missing, then locks it. FailedPrecondition
  // "state directory D is in use by another mt daemon (pid N)" when another holder has it;
  // PermissionDenied when the folders cannot be created or the lock file cannot be opened.
  static absl::StatusOr<std::unique_ptr<StateDirLock>> Acquire(const std::string& state_dir);
  ~StateDirLock();  // releases the lock (the pid file stays; the next holder overwrites it)
  StateDirLock(const StateDirLock&) = delete;
  StateDirLock& operator=(const StateDirLock&) = delete;

 private:
  explicit StateDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace mt::server

#endif  // MT_SERVER_STATE_DIR_LOCK_H_
