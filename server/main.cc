// The mt daemon: `bazel run //server` listens on 127.0.0.1:50051 with no flags.
//
// Settings come from flags, else environment variables, else defaults (--help lists them):
//   --listen      MT_LISTEN     127.0.0.1:50051
//   --state_dir   MT_STATE_DIR  <repo>/.mt-state under `bazel run`, else ./.mt-state
//   --data_dir    MT_DATA_DIR   <repo>/data under `bazel run`, else ./data
// SIGINT/SIGTERM shut down gracefully (running jobs become INTERRUPTED and resumable, open
// streams get a terminal event) and exit 0.
#include <signal.h>

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
#include "server/service.h"

ABSL_FLAG(std::string, listen, "", "address to serve on (env MT_LISTEN; default 127.0.0.1:50051)");
ABSL_FLAG(std::string, state_dir, "",
          "job database and checkpoints (env MT_STATE_DIR; default .mt-state in the repo)");
ABSL_FLAG(std::string, data_dir, "",
          "folder holding mnist/ and sst2/ (env MT_DATA_DIR; default data/ in the repo)");
ABSL_FLAG(int, max_running_per_device, 1, "jobs that may run at once on each device");
ABSL_FLAG(int, threads, 0, "default CPU threads per job (0 = every core)");
ABSL_FLAG(std::string, embeddings_dir, "",
          "the only folder jobs' embeddings_file may name files in (default: the data dir)");
ABSL_FLAG(int64_t, inference_memory_mb, 1024,
          "estimated memory one Predict/GetActivations may use; larger inputs are refused "
          "(0 = no budget)");
ABSL_FLAG(int64_t, max_text_bytes, 65536, "longest text a Predict/GetActivations may send");
ABSL_FLAG(int64_t, max_text_tokens, 10000, "most tokens a Predict/GetActivations text may have");

namespace {

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
  absl::ParseCommandLine(argc, argv);

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
  if (!absl::GetFlag(FLAGS_embeddings_dir).empty()) {
    options.embeddings_dir = Absolute(absl::GetFlag(FLAGS_embeddings_dir));
  }
  options.inference_limits.memory_bytes = absl::GetFlag(FLAGS_inference_memory_mb) * (int64_t{1} << 20);
  options.inference_limits.max_text_bytes = absl::GetFlag(FLAGS_max_text_bytes);
  options.inference_limits.max_text_tokens = absl::GetFlag(FLAGS_max_text_tokens);
  const std::string listen = Setting(absl::GetFlag(FLAGS_listen), "MT_LISTEN", "127.0.0.1:50051");
  if (options.max_running_per_device < 1) {
    std::fprintf(stderr, "mt daemon: --max_running_per_device must be >= 1, got %d\n",
                 options.max_running_per_device);
    return 2;
  }

  absl::StatusOr<std::unique_ptr<mt::server::Daemon>> daemon =
      mt::server::Daemon::Start(options, listen);
  if (!daemon.ok()) {
    std::fprintf(stderr, "mt daemon: %s\n", std::string(daemon.status().message()).c_str());
    return 1;
  }
  std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("mt daemon listening on %s:%d (state %s, data %s)\n", host.c_str(),
              (*daemon)->port(), options.state_dir.c_str(), options.data_dir.c_str());
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
