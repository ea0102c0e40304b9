#include "common/small_disk_testing.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace mt::testing {

std::string MountSmallDisk(const std::string& dir, uint64_t bytes) {
  if (geteuid() != 0) return "needs root to mount a small tmpfs (disk-full tests)";
  static bool in_namespace = false;
  if (!in_namespace) {
    if (unshare(CLONE_NEWNS) != 0) {
      return std::string("cannot make a private mount namespace: ") + std::strerror(errno);
    }
    // Without this, mounts would propagate back to the host's namespace.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return std::string("cannot make mounts private: ") + std::strerror(errno);
    }
    in_namespace = true;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create " + dir + ": " + ec.message();
  const std::string options = "size=" + std::to_string(bytes);
  if (mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) {
    return "cannot mount a tmpfs at " + dir + ": " + std::strerror(errno);
  }
  return "";
}

uint64_t FillDisk(const std::string& dir, uint64_t max_bytes) {
  const std::string path = dir + "/fill";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return 0;
  std::vector<char> block(4096, 'x');
  uint64_t written = 0;
  // Whole blocks first, then single bytes, so the last partial block is used up too.
  for (size_t chunk : {block.size(), size_t{1}}) {
    while (written < max_bytes) {
      ssize_t n = write(fd, block.data(), chunk);
      if (n <= 0) break;
      written += static_cast<uint64_t>(n);
    }
  }
  fsync(fd);
  close(fd);
  return written;
}

void FreeDisk(const std::string& dir) { unlink((dir + "/fill").c_str()); }

}  // namespace mt::testing
