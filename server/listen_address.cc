#include "server/listen_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mt::server {
namespace {

// Error messages quote user input only briefly.
std::string Prefix(const std::string& s) { return s.size() <= 64 ? s : s.substr(0, 64) + "..."; }

absl::Status Invalid(const std::string& listen, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid --listen '", Prefix(listen), "': ", why,
      "; use HOST:PORT (e.g. 127.0.0.1:50051, 0.0.0.0:50051, [::1]:50051) or unix:PATH"));
}

bool HostCharsOk(const std::string& host) {
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '_' && c != '%') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(const std::string& listen) {
  ListenAddress a;
  if (absl::StartsWith(listen, "unix:")) {
    if (listen.size() == 5) return Invalid(listen, "the socket path is empty");
    a.unix_socket = true;
    return a;
  }
  std::string port;
  if (absl::StartsWith(listen, "[")) {
    const size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return Invalid(listen, "an IPv6 address needs the form [ADDRESS]:PORT");
    }
    a.host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return Invalid(listen, "no port");
    a.host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (a.host.find(':') != std::string::npos) {
      return Invalid(listen, "an IPv6 address must be in brackets");
    }
  }
  if (a.host.empty()) return Invalid(listen, "no host");
  if (!HostCharsOk(a.host)) return Invalid(listen, "the host is not a name or an address");
  if (port.empty() || port.size() > 5 || !absl::SimpleAtoi(port, &a.port) || a.port < 0 ||
      a.port > 65535 || !absl::ascii_isdigit(static_cast<unsigned char>(port[0]))) {
    return Invalid(listen, "the port must be a number from 0 to 65535");
  }
  return a;
}

bool IsLoopback(const ListenAddress& a) {
  if (a.unix_socket) return true;
  const std::string host = absl::AsciiStrToLower(a.host);
  if (host == "localhost" || host == "ip6-localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;  // any other name may resolve to an address others can reach
}

absl::Status ProbeBind(const ListenAddress& a, const std::string& listen) {
  if (a.unix_socket) return absl::OkStatus();  // gRPC reports these itself
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(a.port);
  if (int rc = getaddrinfo(a.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", Prefix(listen), ": host '",
                                               Prefix(a.host), "': ", gai_strerror(rc)));
  }
  absl::Status status = absl::OkStatus();
  for (addrinfo* ai = found; ai != nullptr && status.ok(); ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;  // e.g. no IPv6 on this machine: gRPC skips it as well
    // As gRPC does: SO_REUSEADDR (a port in TIME_WAIT is free), and no SO_REUSEPORT (a port
    // another socket listens on is not).
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      const int err = errno;
      status = absl::UnavailableError(
          absl::StrCat("cannot listen on ", Prefix(listen), ": ", std::strerror(err),
                       err == EADDRINUSE ? " (another program, perhaps another mt daemon, holds "
                                           "it; choose another --listen port)"
                                         : ""));
    }
    close(fd);
  }
  freeaddrinfo(found);
  return status;
}

}  // namespace mt::server
