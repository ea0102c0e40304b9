// What a training run reports: per-batch progress and per-epoch metrics (the latter also stored
// in each checkpoint as JSON, see checkpoint.h).
#ifndef MT_ENGINE_TRAIN_METRICS_H_
#define MT_ENGINE_TRAIN_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mt::train {

struct EpochMetrics {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0;      // mean over the epoch's batches
  double train_accuracy = 0;  // fraction, in training mode (dropout on), as PyTorch logs do
  double valid_accuracy = 0;  // fraction, eval mode, full held-out split
  int64_t valid_correct = 0, valid_total = 0;
  double seconds = 0;           // training + evaluation wall time
  double samples_per_second = 0;  // training samples / training seconds
  double lr = 0;
  double valid_loss = 0;  // mean negative log-likelihood, eval mode, full held-out split
};

// The metrics as JSON (stored in each checkpoint's "mt.epoch_metrics", so the epoch's record
// survives even if the process dies before anyone else wrote it down).
std::string EpochMetricsToJson(const EpochMetrics& m);
absl::StatusOr<EpochMetrics> EpochMetricsFromJson(const std::string& json);

// What one evaluation of the held-out split found, beyond its accuracy.
struct Misclassified {
  int64_t index = 0;  // position in the held-out split
  int64_t label = 0, predicted = 0;
};
struct ValidationReport {
  int64_t epoch = 0;  // the epoch it belongs to (0 outside training)
  int64_t num_classes = 0;
  std::vector<int64_t> confusion;  // num_classes^2, row-major: [label * num_classes + predicted]
  std::vector<Misclassified> misclassified;  // the first ones by index (Trainer's limit)
  int64_t misclassified_total = 0;
  double loss = 0;  // mean negative log-likelihood
  int64_t correct = 0, total = 0;
};

struct BatchProgress {
  int64_t epoch = 0, batch = 0, num_batches = 0;  // batch is 1-based
  double mean_loss = 0;  // over this epoch's batches so far
};

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_METRICS_H_
