// The daemon's --listen address: its form, whether it is reachable only from this machine, and
// why binding it failed. gRPC-free (plain sockets), so every case is unit-tested.
#ifndef MT_SERVER_LISTEN_ADDRESS_H_
#define MT_SERVER_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt::server {

struct ListenAddress {
  std::string host;  // without IPv6 brackets; "" for a unix socket
  int port = 0;      // 0: the system picks one
  bool unix_socket = false;  // "unix:PATH" (reachable only through the file system)
};

// "HOST:PORT", "[IPV6]:PORT" or "unix:PATH". InvalidArgument (quoting a short prefix) otherwise.
absl::StatusOr<ListenAddress> ParseListenAddress(const std::string& listen);

// True for localhost, 127.0.0.0/8, ::1 and unix sockets: only local programs can connect.
bool IsLoopback(const ListenAddress& address);

// Binds (and releases) the address the way gRPC will, before anything else starts, so that an
// address another program holds is reported with the system's reason ("Address already in use")
// instead of a bare failure later. Unavailable naming the address and the reason.
absl::Status ProbeBind(const ListenAddress& address, const std::string& listen);

}  // namespace mt::server

#endif  // MT_SERVER_LISTEN_ADDRESS_H_
