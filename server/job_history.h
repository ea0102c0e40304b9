// What the job manager records about a running job besides its state and epochs: the history
// series (loss_series.h) as events, one LossSeries per run.
//
// Called from each run's own thread; the table of runs is guarded by a mutex of its own, so jobs
// do not wait on one another here.
#ifndef MT_SERVER_JOB_HISTORY_H_
#define MT_SERVER_JOB_HISTORY_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "proto/training.pb.h"
#include "server/loss_series.h"

namespace mt::server {

class JobHistory {
 public:
  // A batch of `job_id` finished; returns the history event to record when a point is due.
  // The first call after EndRun starts a new run (a new averaging window).
  std::optional<v1::JobEvent> OnProgress(const std::string& job_id, const v1::BatchProgress& p);
  // The job's run has ended.
  void EndRun(const std::string& job_id);

 private:
  struct Run {
    LossSeries loss;
  };
  std::mutex mu_;
  std::map<std::string, Run> runs_;  // guarded by mu_
};

}  // namespace mt::server

#endif  // MT_SERVER_JOB_HISTORY_H_
