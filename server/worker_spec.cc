#include "server/worker_spec.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace mt::server {

absl::Status ResolveWorkers(const v1::JobSpec& requested, int max_workers, int default_threads,
                            ResolvedSpec* resolved) {
  const int workers = requested.workers() == 0 ? 1 : requested.workers();
  if (workers < 1 || workers > max_workers) {
    return train::InvalidField(
        "workers", std::to_string(requested.workers()),
        absl::StrCat("must be between 1 and ", max_workers, " (this daemon runs at most ",
                     max_workers, " worker processes per job: --max_workers, by default one per "
                     "core of its machine and its peers')"));
  }
  v1::JobSpec& spec = resolved->spec;
  spec.set_workers(workers);
  if (workers == 1) return absl::OkStatus();
  if (spec.train_size() > 0 && spec.train_size() % workers != 0) {
    return train::InvalidField(
        "train_size", std::to_string(spec.train_size()),
        absl::StrCat("must be a multiple of workers (", workers,
                     ") so that every worker takes as many examples per step"));
  }
  if (requested.threads() == 0) {
    spec.set_threads(std::max(1, default_threads / workers));
    resolved->config.threads = spec.threads();
  }
  return absl::OkStatus();
}

}  // namespace mt::server
