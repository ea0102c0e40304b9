// The mt daemon: `bazel run //server` listens on 127.0.0.1:50051 with no flags.
//
// Settings come from flags, else environment variables, else defaults (--help lists them):
//   --listen      MT_LISTEN     127.0.0.1:50051
//   --state_dir   MT_STATE_DIR  <repo>/.mt-state under `bazel run`, else ./.mt-state
//   --data_dir    MT_DATA_DIR   <repo>/data under `bazel run`, else ./data
//   --http_listen MT_HTTP_LISTEN  off (the dashboard and /metrics; README "Dashboard and metrics")
// Remote use (README "Remote use"): --tls_cert/--tls_key serve TLS, --tokens_file requires a
// bearer token on every call; a non-loopback --listen needs both, or --insecure.
// Any start-up failure prints one line `mt daemon: REASON` on stderr and exits 1.
// SIGINT/SIGTERM shut down gracefully (running jobs become INTERRUPTED and resumable, open
// streams get a terminal event) and exit 0.
#include <grpc/support/log.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "common/cli_flags.h"
#include "common/float_mode.h"
#include "common/omp_wait.h"
#include "absl/strings/str_split.h"
#include "server/service.h"

ABSL_FLAG(std::string, listen, "", "address to serve on (env MT_LISTEN; default 127.0.0.1:50051)");
ABSL_FLAG(std::string, state_dir, "",
          "job database and checkpoints (env MT_STATE_DIR; default .mt-state in the repo)");
ABSL_FLAG(std::string, data_dir, "",
          "folder holding mnist/ and sst2/ (env MT_DATA_DIR; default data/ in the repo)");
ABSL_FLAG(int, max_running_per_device, 1, "jobs that may run at once on each device");
ABSL_FLAG(int, threads, 0, "default CPU threads per job (0 = every core)");
ABSL_FLAG(int, max_queued_per_user, 100,
          "QUEUED jobs one user may have at once; more submissions are refused");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate: serve TLS (with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tokens_file, "",
          "require a bearer token on every call; lines 'USER [admin] sha256:HEX' "
          "(scripts/mt-token.sh)");
ABSL_FLAG(bool, insecure, false,
          "allow a non-loopback --listen without TLS and tokens (anyone reaching it may act)");
ABSL_FLAG(std::string, embeddings_dir, "",
          "the only folder jobs' embeddings_file may name files in (default: the data dir)");
ABSL_FLAG(int64_t, inference_memory_mb, 1024,
          "estimated memory one Predict/GetActivations may use; larger inputs are refused "
          "(0 = no budget)");
ABSL_FLAG(int64_t, max_text_bytes, 65536, "longest text a Predict/GetActivations may send");
ABSL_FLAG(int64_t, max_text_tokens, 10000, "most tokens a Predict/GetActivations text may have");
ABSL_FLAG(std::string, http_listen, "",
          "also serve the web dashboard, its JSON API and Prometheus /metrics on HOST:PORT "
          "(env MT_HTTP_LISTEN; default off; e.g. 127.0.0.1:8080)");
ABSL_FLAG(std::string, web_dir, "",
          "the dashboard's files (env MT_WEB_DIR; default web/ in the repo or the runfiles)");
// Multi-worker jobs (JobSpec.workers; README "Scale-out").
ABSL_FLAG(std::string, worker_binary, "",
          "mt-worker program for jobs of several workers (default: mt-worker beside this one)");
ABSL_FLAG(int, max_workers, 0, "most worker processes per job (0 = one per core)");
ABSL_FLAG(int, worker_timeout_s, 60,
          "seconds a worker may stall before its job is INTERRUPTED");
ABSL_FLAG(std::string, peers, "",
          "HOST:PORT,... of daemons that run some of each job's workers (this one coordinates)");
ABSL_FLAG(std::string, peer_token_file, "", "admin bearer token the --peers accept");
ABSL_FLAG(std::string, peer_tls_ca, "", "PEM CA certificate: reach the --peers over TLS");
ABSL_FLAG(std::string, advertise, "",
          "HOST:PORT where workers reach this daemon (default: the --listen address)");
ABSL_FLAG(std::string, worker_host, "127.0.0.1",
          "address this machine's workers listen on for the others (its address among the peers)");

namespace {

// gRPC logs its own view of a failed bind (several lines) before the daemon can say why in one;
// while starting, those lines are dropped, afterwards gRPC's messages go to stderr as usual.
std::atomic<bool> quiet_grpc_log{true};

void GrpcLog(gpr_log_func_args* args) {
  if (quiet_grpc_log.load()) return;
  std::fprintf(stderr, "grpc %s:%d: %s\n", args->file, args->line, args->message);
}

// The one line every start-up failure prints; exit status 1.
int Fail(const std::string& reason) {
  std::string line = reason;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "mt daemon: %s\n", line.c_str());
  return 1;
}

// Flag, else environment variable, else default under the directory the user works in.
std::string Setting(const std::string& flag, const char* env, const std::string& fallback) {
  if (!flag.empty()) return flag;
  if (const char* v = std::getenv(env); v && *v) return v;
  return fallback;
}

std::string Workspace() {
  // `bazel run` starts us inside the runfiles tree; the user's files live in the workspace.
  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY"); ws && *ws) return ws;
  return ".";
}

std::string Absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  return (std::filesystem::path(cwd && *cwd ? cwd : std::filesystem::current_path().c_str()) / path)
      .lexically_normal();
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything starts a thread: idle OpenMP threads sleep instead of spinning against
  // other processes (may re-execute this program once with OMP_WAIT_POLICY=PASSIVE and a brief GOMP_SPINCOUNT).
  mt::EnsureBriefOpenMpWait(argv);
  mt::FlushDenormalsUnlessKept();  // before any thread starts: every thread inherits it
  absl::SetProgramUsageMessage(
      "mt training daemon. Serves mt.v1.TrainingService (plus grpc.health.v1.Health and "
      "server reflection).\n  bazel run //server [-- --listen=HOST:PORT --state_dir=DIR "
      "--data_dir=DIR --max_running_per_device=N]");
  // --help lists this file's flags (absl's default looks for a file named after the binary).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  // --state-dir as well as --state_dir, as mt-client spells flags; --help exits 0; --version.
  mt::ParseFlags(argc, argv, "mt-daemon");
  gpr_set_log_function(GrpcLog);

  // Block the stop signals in every thread (gRPC's and the trainers' inherit this mask); one
  // thread below waits for them synchronously, so shutdown runs outside a signal handler.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  mt::server::Options options;
  options.state_dir = Absolute(Setting(absl::GetFlag(FLAGS_state_dir), "MT_STATE_DIR",
                                       Workspace() + "/.mt-state"));
  options.data_dir = Absolute(Setting(absl::GetFlag(FLAGS_data_dir), "MT_DATA_DIR",
                                      Workspace() + "/data"));
  options.max_running_per_device = absl::GetFlag(FLAGS_max_running_per_device);
  options.cpu_threads = absl::GetFlag(FLAGS_threads);
  options.max_queued_per_user = absl::GetFlag(FLAGS_max_queued_per_user);
  if (!absl::GetFlag(FLAGS_embeddings_dir).empty()) {
    options.embeddings_dir = Absolute(absl::GetFlag(FLAGS_embeddings_dir));
  }
  options.inference_limits.memory_bytes = absl::GetFlag(FLAGS_inference_memory_mb) * (int64_t{1} << 20);
  options.inference_limits.max_text_bytes = absl::GetFlag(FLAGS_max_text_bytes);
  options.inference_limits.max_text_tokens = absl::GetFlag(FLAGS_max_text_tokens);
  options.worker_binary = Absolute(absl::GetFlag(FLAGS_worker_binary));
  options.max_workers = absl::GetFlag(FLAGS_max_workers);
  options.worker_timeout_s = absl::GetFlag(FLAGS_worker_timeout_s);
  const std::string listen = Setting(absl::GetFlag(FLAGS_listen), "MT_LISTEN", "127.0.0.1:50051");
  if (options.max_running_per_device < 1) {
    return Fail("--max_running_per_device must be >= 1, got " +
                std::to_string(options.max_running_per_device));
  }
  if (options.cpu_threads < 0) {
    return Fail("--threads must be >= 0 (0 = every core), got " +
                std::to_string(options.cpu_threads));
  }
  if (options.max_queued_per_user < 1) {
    return Fail("--max_queued_per_user must be >= 1, got " +
                std::to_string(options.max_queued_per_user));
  }
  mt::server::ServeOptions serve;
  serve.listen = listen;
  serve.tls_cert_file = Absolute(absl::GetFlag(FLAGS_tls_cert));
  serve.tls_key_file = Absolute(absl::GetFlag(FLAGS_tls_key));
  serve.tokens_file = Absolute(absl::GetFlag(FLAGS_tokens_file));
  serve.insecure = absl::GetFlag(FLAGS_insecure);
  serve.http_listen = Setting(absl::GetFlag(FLAGS_http_listen), "MT_HTTP_LISTEN", "");
  serve.web_dir = absl::GetFlag(FLAGS_web_dir).empty()
                      ? mt::server::http::DefaultWebDir(argv[0])
                      : Absolute(absl::GetFlag(FLAGS_web_dir));
  for (absl::string_view peer : absl::StrSplit(absl::GetFlag(FLAGS_peers), ',', absl::SkipEmpty())) {
    serve.scale_out.peers.emplace_back(peer);
  }
  serve.scale_out.peer_token_file = Absolute(absl::GetFlag(FLAGS_peer_token_file));
  serve.scale_out.peer_tls_ca_file = Absolute(absl::GetFlag(FLAGS_peer_tls_ca));
  serve.scale_out.advertise = absl::GetFlag(FLAGS_advertise);
  serve.scale_out.worker_host = absl::GetFlag(FLAGS_worker_host);

  absl::StatusOr<std::unique_ptr<mt::server::Daemon>> daemon =
      mt::server::Daemon::Start(options, serve);
  if (!daemon.ok()) return Fail(std::string(daemon.status().message()));
  quiet_grpc_log = false;
  std::string host = listen.substr(0, listen.rfind(':'));
  // The dashboard's address goes on the same (first and only) line: tests read just that one.
  std::string dashboard;
  if ((*daemon)->http_port() > 0) {
    dashboard = ", dashboard " + std::string(serve.tls_cert_file.empty() ? "http" : "https") +
                "://" + serve.http_listen.substr(0, serve.http_listen.rfind(':')) + ":" +
                std::to_string((*daemon)->http_port()) + "/";
  }
  std::printf("mt daemon listening on %s:%d (state %s, data %s%s%s%s)\n", host.c_str(),
              (*daemon)->port(), options.state_dir.c_str(), options.data_dir.c_str(),
              serve.tls_cert_file.empty() ? "" : ", TLS",
              serve.tokens_file.empty() ? "" : ", token auth", dashboard.c_str());
  std::fflush(stdout);

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop, &sig);
    std::fprintf(stderr, "mt daemon: %s received, shutting down gracefully\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    (*daemon)->Shutdown();
  });
  (*daemon)->Wait();
  waiter.join();
  std::fprintf(stderr, "mt daemon: stopped\n");
  return 0;
}
