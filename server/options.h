// The daemon's settings (from main.cc's flags) and their checks.
#ifndef MT_SERVER_OPTIONS_H_
#define MT_SERVER_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "server/request_limits.h"

namespace mt::server {

class PeerLauncher;  // distributed_runner.h

struct Options {
  std::string state_dir;          // SQLite database + per-job checkpoint folders
  std::string data_dir;           // holds mnist/ and sst2/
  int max_running_per_device = 1;
  int cpu_threads = 0;            // default threads for a job (0 = every core)
  int max_queued_per_user = 100;  // QUEUED jobs one user may have; more are refused
  // Where a job's embeddings_file may be (it and everything below it); "" = the data dir.
  std::string embeddings_dir;
  // Sizes of inference inputs and the memory one inference may use.
  InferenceLimits inference_limits;
  // Multi-worker jobs (JobSpec.workers, distributed_runner.h): the mt-worker binary ("" = the
  // one beside this program), the most workers per job (0 = this machine's cores) and the
  // seconds a worker may stall before its job is interrupted.
  std::string worker_binary;
  int max_workers = 0;
  int worker_timeout_s = 60;
  // Set by the daemon when it has --peers (scale_out.h): jobs' workers spread over them. Not
  // owned; null: this machine only.
  PeerLauncher* peer_launcher = nullptr;
  int peer_count = 0;  // max_workers = 0 allows one worker per core on each machine
};

// options.worker_binary, else mt-worker in the folder of the running program.
std::string WorkerBinary(const Options& options);

// InvalidArgument naming the setting, its value and what is allowed.
absl::Status ValidateOptions(const Options& options);

// options.data_dir, else $MT_DATA_DIR, else "data".
std::string DataDir(const Options& options);

// options.embeddings_dir, else DataDir(options).
std::string EmbeddingsDir(const Options& options);

}  // namespace mt::server

#endif  // MT_SERVER_OPTIONS_H_
