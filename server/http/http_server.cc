#include "server/http/http_server.h"

#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/http/json_api.h"
#include "server/http/metrics.h"
#include "server/listen_address.h"

namespace mt::server::http {
namespace {

struct StaticFile {
  const char* url;
  const char* file;  // under the web directory
  const char* type;
};

// Everything the dashboard is; no other path is ever read from the web directory.
constexpr StaticFile kStaticFiles[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/index.html", "index.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
    {"/vendor/uPlot.iife.min.js", "node_modules/uplot/dist/uPlot.iife.min.js",
     "text/javascript; charset=utf-8"},
    {"/vendor/uPlot.min.css", "node_modules/uplot/dist/uPlot.min.css", "text/css; charset=utf-8"},
};

void SetCommonHeaders(httplib::Response& res) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-store");
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data: blob:; style-src 'self' "
                 "'unsafe-inline'; frame-ancestors 'none'");
}

void Json(httplib::Response& res, const ApiResponse& r) {
  SetCommonHeaders(res);
  res.status = r.status;
  if (r.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  res.set_content(r.body, "application/json");
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

// listen_address.h's messages name --listen; here the flag is --http_listen.
absl::Status ForHttp(const absl::Status& s) {
  std::string m(s.message());
  m = absl::StrReplaceAll(m, {{"--listen", "--http_listen"}});
  if (m.find("--http_listen") == std::string::npos) m = "--http_listen: " + m;
  return absl::Status(s.code(), m);
}

}  // namespace

std::string DefaultWebDir(const std::string& argv0) {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("MT_WEB_DIR"); env && *env) return env;
  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY"); ws && *ws) {
    return (fs::path(ws) / "web").string();
  }
  std::error_code ec;
  const fs::path runfiles = fs::path(argv0 + ".runfiles") / "mt" / "web";
  if (fs::exists(runfiles / "index.html", ec)) return runfiles.string();
  return "web";
}

absl::Status CheckHttpListen(const HttpOptions& options, bool have_tokens) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options.listen);
  if (!address.ok()) {
    return ForHttp(address.status());
  }
  if (address->unix_socket) {
    return absl::InvalidArgumentError("--http_listen takes HOST:PORT, not a unix: socket");
  }
  const bool tls = !options.tls_cert_file.empty() && !options.tls_key_file.empty();
  if (!IsLoopback(*address) && !(tls && have_tokens) && !options.insecure) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to serve the dashboard and /metrics on ", options.listen,
        " without TLS and token auth: anyone who can reach it could read every job; set "
        "--tls_cert, --tls_key and --tokens_file, or pass --insecure to accept that"));
  }
  if (absl::Status s = ProbeBind(*address, options.listen); !s.ok()) {
    return ForHttp(s);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(JobManager* manager,
                                                              const TokenTable* tokens,
                                                              const HttpOptions& options) {
  if (absl::Status s = CheckHttpListen(options, tokens != nullptr); !s.ok()) return s;
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options.listen);
  const bool tls = !options.tls_cert_file.empty() && !options.tls_key_file.empty();
  // A client that hangs up mid-reply must not kill the daemon (gRPC ignores SIGPIPE too, but
  // the dashboard may be served before or without it relying on that).
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { signal(SIGPIPE, SIG_IGN); });

  std::unique_ptr<HttpServer> s(new HttpServer());
  s->manager_ = manager;
  s->tokens_ = tokens;
  s->web_dir_ = options.web_dir;
  s->tls_ = tls;
  s->metrics_ = std::make_unique<DaemonMetrics>(manager);
  s->api_ = std::make_unique<JsonApi>(manager, tokens);
  if (tls) {
    auto ssl = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                    options.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot serve HTTPS with --tls_cert=", options.tls_cert_file, " and --tls_key=",
          options.tls_key_file, " (unreadable or not a matching PEM pair)"));
    }
    s->server_ = std::move(ssl);
  } else {
    s->server_ = std::make_unique<httplib::Server>();
  }
  // Keep-alive connections hold a worker; a short timeout lets Stop() finish soon.
  s->server_->set_keep_alive_timeout(2);
  s->server_->set_payload_max_length(64 << 10);  // GETs only: no request needs a body
  s->Route();
  const std::string host = address->host;
  if (address->port == 0) {
    s->port_ = s->server_->bind_to_any_port(host);
  } else if (s->server_->bind_to_port(host, address->port)) {
    s->port_ = address->port;
  } else {
    s->port_ = -1;
  }
  if (s->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen,
        " for the dashboard: the address is in use or not available on this machine "
        "(use --http_listen=HOST:PORT)"));
  }
  HttpServer* self = s.get();
  s->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->listener_done_ = true;
  });
  return s;
}

void HttpServer::Route() {
  server_->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<Caller> caller = api_->Authenticate(req.get_header_value("Authorization"));
    if (!caller.ok()) return Json(res, ErrorResponse(caller.status()));
    SetCommonHeaders(res);
    res.set_content(metrics_->Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get(R"(/api/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    ApiRequest r;
    r.path = req.path;
    for (const auto& [k, v] : req.params) r.query[k] = v;
    r.authorization = req.get_header_value("Authorization");
    Json(res, api_->Handle(r));
  });
  for (const StaticFile& f : kStaticFiles) {
    server_->Get(f.url, [this, f](const httplib::Request&, httplib::Response& res) {
      SetCommonHeaders(res);
      std::string body;
      if (web_dir_.empty() || !ReadFile(web_dir_ + "/" + f.file, &body)) {
        res.status = 404;
        res.set_content(absl::StrCat("dashboard file ", f.file, " not found in '", web_dir_,
                                     "' (set --web_dir; run scripts/setup.sh for uPlot)\n"),
                        "text/plain; charset=utf-8");
        return;
      }
      res.set_content(body, f.type);
    });
  }
  server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      res.set_content("not found: the dashboard is at /, metrics at /metrics, the API at /api/jobs\n",
                      "text/plain; charset=utf-8");
    }
  });
}

void HttpServer::Stop() {
  // httplib's stop() does nothing before its loop has begun; wait for that (or for its end).
  while (thread_.joinable() && !server_->is_running() && !listener_done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace mt::server::http
