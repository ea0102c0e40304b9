// What the job manager records about a running job besides its state and epochs:
//   - the training-loss series (loss_series.h), returned as events for the job's log;
//   - TensorBoard event files in <jobs_dir>/<id>/tensorboard/ (one file per run): the same
//     series under the same tags as common/metric_series.h, and after each epoch a picture of
//     each layer's activations for held-out example 0 ("activations/<layer>").
// TensorBoard files are a view: a failure to write them is reported once on stderr and the
// job goes on without them for the rest of its run.
//
// Called from each run's own thread; the table of runs is guarded by a mutex of its own, so jobs
// do not wait on one another here (writes to a run's files happen outside it).
#ifndef MT_SERVER_JOB_HISTORY_H_
#define MT_SERVER_JOB_HISTORY_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/tensorboard_writer.h"
#include "proto/training.pb.h"
#include "server/inference_types.h"
#include "server/loss_series.h"

namespace mt::server {

class JobHistory {
 public:
  // `jobs_dir`: where job folders are (<state_dir>/jobs); "" writes no TensorBoard files.
  explicit JobHistory(std::string jobs_dir) : jobs_dir_(std::move(jobs_dir)) {}

  // A batch of `job_id` finished; returns the history event to record when a point is due.
  // The first call after EndRun starts a new run (a new averaging window, a new event file).
  std::optional<v1::JobEvent> OnProgress(const std::string& job_id, const v1::BatchProgress& p);
  // An epoch's event was recorded; `activations` gives the layers for the pictures (called
  // here, outside any lock of the caller's).
  void OnEpoch(const std::string& job_id, const v1::EpochMetrics& m,
               const std::function<absl::StatusOr<ActivationsResult>()>& activations);
  // The job's run has ended.
  void EndRun(const std::string& job_id);

  // The folder of a job's event files.
  std::string TensorBoardDir(const std::string& job_id) const;

 private:
  struct Run {
    LossSeries loss;
    int64_t num_batches = 0;  // per epoch, from the progress seen
    bool tb_failed = false;   // stop trying after the first failure
    std::unique_ptr<TensorBoardWriter> tb;
    std::mutex tb_mu;         // the writer is used by the run's thread only; this orders EndRun
  };
  // The run's entry (created on first use); entries live until EndRun.
  std::shared_ptr<Run> RunOf(const std::string& job_id);
  // The run's writer, created on first use; null after a failure.
  TensorBoardWriter* Writer(const std::string& job_id, Run& run);
  void Report(const std::string& job_id, Run& run, const absl::Status& s);

  const std::string jobs_dir_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Run>> runs_;  // guarded by mu_
};

// A layer's activations as a grayscale picture for people: (1, C, H, W) as a grid of the C
// maps, (1, C, L) as C rows of L; values scaled to 0..255 over the layer, small maps enlarged,
// maps separated by grey lines. NotFound for shapes it does not draw (a vector).
struct ActivationPicture {
  std::string png;
  int width = 0, height = 0;
};
absl::StatusOr<ActivationPicture> DrawActivation(const Activation& layer);

}  // namespace mt::server

#endif  // MT_SERVER_JOB_HISTORY_H_
