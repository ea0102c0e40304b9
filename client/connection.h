// The channel to the daemon: plain or TLS (trusting a given CA), and a bearer token sent as
// `authorization: Bearer TOKEN` metadata on every call when one is given.
#ifndef MT_CLIENT_CONNECTION_H_
#define MT_CLIENT_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace mt::client {

// The largest message either side of a channel to the daemon may carry (a job's whole history
// replayed, a layer's activations): one limit for every command, so that what `mt-client logs`
// can receive, `mt-client metrics` can too.
inline constexpr int kMaxMessageBytes = 64 << 20;

struct Connection {
  std::string server;  // HOST:PORT
  std::string ca_pem;  // non-empty: TLS, trusting this CA certificate (PEM)
  std::string token;   // non-empty: sent with every call
};

std::shared_ptr<grpc::Channel> OpenChannel(const Connection& connection,
                                           const grpc::ChannelArguments& channel_args);

// True when `server` ("HOST:PORT", "[IPV6]:PORT" or "unix:PATH") can only be on this machine:
// localhost, 127.0.0.0/8, ::1, a unix socket. Only there may a token travel without TLS.
bool IsLoopbackTarget(const std::string& server);

// The token in a token file or $MT_TOKEN: surrounding whitespace (a trailing newline) removed.
std::string TrimToken(const std::string& text);

// True when `token` can go in an HTTP/2 header: printable ASCII without spaces. gRPC aborts the
// process on a call whose metadata is illegal, so a token file with, say, two lines or a tab
// must be refused before any call.
bool IsSendableToken(const std::string& token);

// What a failed call to the daemon at `server` tells the user: for the codes a wrong address, a
// TLS mismatch or an old daemon give, what to check; otherwise the daemon's own message. `tls`:
// the call went over TLS (--tls-ca given). Every command prints its RPC failures through this.
std::string RpcErrorText(const grpc::Status& s, const std::string& server, bool tls);

}  // namespace mt::client

#endif  // MT_CLIENT_CONNECTION_H_
