// The daemon's TLS certificate and key (--tls_cert, --tls_key), read and checked at start-up so
// that a wrong file is reported by name rather than as a failure to listen.
#ifndef MT_SERVER_TLS_H_
#define MT_SERVER_TLS_H_

#include <string>

#include "absl/status/statusor.h"

namespace mt::server {

struct TlsFiles {
  std::string cert_pem;  // the server certificate (optionally followed by its chain)
  std::string key_pem;   // its private key
};

// InvalidArgument naming the file and what is wrong: unreadable, not PEM, or a key that does
// not belong to the certificate.
absl::StatusOr<TlsFiles> LoadTlsFiles(const std::string& cert_path, const std::string& key_path);

}  // namespace mt::server

#endif  // MT_SERVER_TLS_H_
