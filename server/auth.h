// Bearer-token authentication and job ownership: the one place that decides who a caller is and
// whether they may act on a job. gRPC-free (service.cc passes the `authorization` header's value).
//
// Tokens file (--tokens_file), one token per line, '#' starts a comment:
//   USER [admin] sha256:HEX
// HEX is the SHA-256 of the token (64 lowercase hex digits); the token itself is never stored.
// scripts/mt-token.sh makes a random token and prints its line. A user may have several lines
// (several tokens); USER is 1-64 of [A-Za-z0-9._@-].
#ifndef MT_SERVER_AUTH_H_
#define MT_SERVER_AUTH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/training.pb.h"
#include "server/caller.h"

namespace mt::server {

// SHA-256 of `data` as 64 lowercase hex digits.
std::string Sha256Hex(absl::string_view data);

class TokenTable {
 public:
  // InvalidArgument naming the file, the line and what is wrong; NotFound when it cannot be read.
  static absl::StatusOr<TokenTable> Load(const std::string& path);
  static absl::StatusOr<TokenTable> Parse(absl::string_view text, const std::string& source);

  // `authorization` is the request's header value ("" when absent): "Bearer TOKEN".
  // Unauthenticated with what to send when it is missing, malformed or unknown.
  absl::StatusOr<Caller> Authenticate(absl::string_view authorization) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string user;
    bool admin = false;
    std::string sha256;  // 32 raw bytes
  };
  std::vector<Entry> entries_;
};

// OK when `caller` may see and act on `job` (its owner, or an admin); PermissionDenied otherwise.
absl::Status CheckJobAccess(const Caller& caller, const v1::Job& job);

}  // namespace mt::server

#endif  // MT_SERVER_AUTH_H_
