#include "server/job_history.h"

#include <utility>

namespace mt::server {

std::optional<v1::JobEvent> JobHistory::OnProgress(const std::string& job_id,
                                                   const v1::BatchProgress& p) {
  std::optional<v1::ScalarPoint> point;
  {
    std::lock_guard<std::mutex> lock(mu_);
    point = runs_[job_id].loss.Add(p);
  }
  if (!point) return std::nullopt;
  v1::JobEvent event;
  *event.mutable_scalars()->add_points() = std::move(*point);
  return event;
}

void JobHistory::EndRun(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  runs_.erase(job_id);
}

}  // namespace mt::server
