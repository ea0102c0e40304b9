// The daemon's HTTP port (--http_listen): GET /metrics (metrics.h), the JSON API under /api/
// (json_api.h) and the dashboard's files from the web directory (index.html, app.js, style.css
// and uPlot from web/node_modules). Thin glue over those parts with cpp-httplib (Debian's
// libcpp-httplib-dev); only GET is served, only the files listed in kStaticFiles are read.
//
// Same rules as the gRPC port: with tokens configured every /metrics and /api request needs
// "Authorization: Bearer TOKEN" (the dashboard's files themselves hold no data and are served to
// anyone who can connect); with the daemon's TLS certificate it serves HTTPS; a non-loopback
// address needs TLS and tokens, or --insecure.
#ifndef MT_SERVER_HTTP_HTTP_SERVER_H_
#define MT_SERVER_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/auth.h"
#include "server/job_manager.h"

namespace httplib {
class Server;
}

namespace mt::server::http {

class DaemonMetrics;
class JsonApi;

struct HttpOptions {
  std::string listen;    // "host:port"; port 0 picks a free one (see HttpServer::port())
  std::string web_dir;   // holds index.html; "" or missing: the dashboard answers 404 saying so
  std::string tls_cert_file, tls_key_file;  // both set: HTTPS
  bool insecure = false;  // allow a non-loopback address without TLS and tokens
};

// The web directory to serve when --web_dir is not given: $MT_WEB_DIR, else <workspace>/web
// under `bazel run`, else web/ in the binary's runfiles (`argv0`.runfiles/mt/web), else ./web.
std::string DefaultWebDir(const std::string& argv0);

// What Start checks before it changes anything: the address' form, that it is free, and that a
// non-loopback one has TLS and tokens (or insecure). The daemon calls it before starting jobs.
absl::Status CheckHttpListen(const HttpOptions& options, bool have_tokens);

class HttpServer {
 public:
  // Binds and starts serving on a thread of its own. Errors say why (bad or taken address, a
  // non-loopback address without TLS and tokens, unreadable TLS files).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(JobManager* manager,
                                                           const TokenTable* tokens,
                                                           const HttpOptions& options);
  ~HttpServer();

  int port() const { return port_; }
  bool tls() const { return tls_; }
  // Stops accepting and waits for requests in flight (long polls end when the manager shuts
  // down, so call this after JobManager::Shutdown). Idempotent.
  void Stop();

 private:
  HttpServer() = default;
  void Route();

  JobManager* manager_ = nullptr;
  const TokenTable* tokens_ = nullptr;
  std::string web_dir_;
  std::unique_ptr<DaemonMetrics> metrics_;
  std::unique_ptr<JsonApi> api_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listener_done_{false};
  int port_ = 0;
  bool tls_ = false;
};

}  // namespace mt::server::http

#endif  // MT_SERVER_HTTP_HTTP_SERVER_H_
