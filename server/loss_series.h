// Which batches of a job become points of its "train/loss" history series, and their values.
//
// The rule (bounded history for long jobs). Let N = max(1, round(batches per epoch / 20)), so
// an epoch starts with about 20 points, and K = kPointsPerLevel. Steps count batches from the
// start of the job (step = (epoch - 1) * batches_per_epoch + batch). The job's steps are cut into
// levels: level k spans K * N * 2^k steps and holds a point every N * 2^k steps, i.e. K points;
// the stride doubles from one level to the next. So a job of S steps keeps at most
// K * ceil(log2(S / (K * N) + 1)) points, and never more than kMaxPoints (32 levels: about
// 10^12 batches at N = 1, beyond any real job; later batches add no points). A point's value
// is the mean loss of the batches since the previous point, so a longer stride averages instead
// of skipping batches.
//
// The rule depends on the step alone, not on what was recorded before, so a resumed job (which
// repeats its interrupted epoch) records its points where an uninterrupted run would; the log
// then holds two points for some steps, and readers keep the later (common/metric_series.h).
#ifndef MT_SERVER_LOSS_SERIES_H_
#define MT_SERVER_LOSS_SERIES_H_

#include <cstdint>
#include <optional>

#include "proto/training.pb.h"

namespace mt::server {

class LossSeries {
 public:
  static constexpr int64_t kPointsPerLevel = 256;
  static constexpr int64_t kMaxPoints = 8192;
  static constexpr char kTag[] = "train/loss";

  // N for an epoch of `batches_per_epoch` batches.
  static int64_t BaseStride(int64_t batches_per_epoch);
  // Whether step `step` (1-based) holds a point when the base stride is `base_stride`; when it
  // does and `index` is given, sets it to the point's 0-based position in the series.
  static bool IsPointStep(int64_t step, int64_t base_stride, int64_t* index = nullptr);

  // Feeds the progress of one batch (the trainer's running mean over the epoch so far, in the
  // order the batches ran); returns the point it completes, if any.
  std::optional<v1::ScalarPoint> Add(const v1::BatchProgress& p);

 private:
  int64_t epoch_ = 0;       // of the previous progress
  int64_t batch_ = 0;       // of the previous progress
  double epoch_sum_ = 0;    // sum of the epoch's batch losses up to batch_
  double window_sum_ = 0;   // losses since the last point
  int64_t window_n_ = 0;
};

}  // namespace mt::server

#endif  // MT_SERVER_LOSS_SERIES_H_
