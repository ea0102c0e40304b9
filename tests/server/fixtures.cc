#include "tests/server/fixtures.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace mt::testing {

std::string FreshDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

HeldPort ListenOnLoopback() {
  HeldPort held;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    held.why = std::string("socket: ") + std::strerror(errno);
    return held;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const char* failed = nullptr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    failed = "bind";
  } else if (listen(fd, 1) != 0) {
    failed = "listen";
  } else if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    failed = "getsockname";
  }
  if (failed != nullptr) {
    held.why = std::string(failed) + ": " + std::strerror(errno);
    close(fd);
    return held;
  }
  held.fd = fd;
  held.listen = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  return held;
}

}  // namespace mt::testing
