#include "server/options.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace mt::server {

absl::Status ValidateOptions(const Options& options) {
  if (options.state_dir.empty()) return absl::InvalidArgumentError("Options.state_dir is empty");
  if (options.max_running_per_device < 1) {
    return absl::InvalidArgumentError(absl::StrCat("invalid max_running_per_device '",
                                                   options.max_running_per_device,
                                                   "': must be >= 1"));
  }
  if (options.cpu_threads < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid cpu_threads '", options.cpu_threads, "': must be >= 0 (0 = every core)"));
  }
  if (options.max_queued_per_user < 1) {
    return absl::InvalidArgumentError(absl::StrCat("invalid max_queued_per_user '",
                                                   options.max_queued_per_user,
                                                   "': must be >= 1"));
  }
  if (options.max_workers < 0 || options.worker_timeout_s < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid max_workers '", options.max_workers, "' or worker_timeout_s '",
        options.worker_timeout_s, "': need max_workers >= 0 (0 = one per core) and "
        "worker_timeout_s >= 1"));
  }
  const InferenceLimits& l = options.inference_limits;
  if (l.max_text_bytes < 1 || l.max_text_tokens < 1 || l.max_png_bytes < 1 ||
      l.memory_bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid inference limits (text ", l.max_text_bytes, " bytes, ", l.max_text_tokens,
        " tokens, PNG ", l.max_png_bytes, " bytes, memory ", l.memory_bytes,
        " bytes): sizes must be >= 1 and the memory budget >= 0 (0 = none)"));
  }
  return absl::OkStatus();
}

std::string WorkerBinary(const Options& options) {
  if (!options.worker_binary.empty()) return options.worker_binary;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("mt-worker") : (self.parent_path() / "mt-worker").string();
}

std::string EmbeddingsDir(const Options& options) {
  return options.embeddings_dir.empty() ? DataDir(options) : options.embeddings_dir;
}

std::string DataDir(const Options& options) {
  if (!options.data_dir.empty()) return options.data_dir;
  const char* env = std::getenv("MT_DATA_DIR");
  return env && *env ? env : "data";
}

}  // namespace mt::server
