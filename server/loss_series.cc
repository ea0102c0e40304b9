#include "server/loss_series.h"

#include <algorithm>

namespace mt::server {

int64_t LossSeries::BaseStride(int64_t batches_per_epoch) {
  return std::max<int64_t>(1, (batches_per_epoch + 10) / 20);
}

bool LossSeries::IsPointStep(int64_t step, int64_t base_stride, int64_t* index) {
  if (step < 1 || base_stride < 1) return false;
  // Level k starts after K * N * (2^k - 1) steps and holds K points.
  constexpr int64_t kLevels = kMaxPoints / kPointsPerLevel;
  int64_t level = 0, start = 0, stride = base_stride;
  while (step > start + kPointsPerLevel * stride) {
    if (++level == kLevels) return false;  // past the last point
    start += kPointsPerLevel * stride;
    stride *= 2;
  }
  if ((step - start) % stride != 0) return false;
  const int64_t i = level * kPointsPerLevel + (step - start) / stride - 1;
  if (index) *index = i;
  return true;
}

std::optional<v1::ScalarPoint> LossSeries::Add(const v1::BatchProgress& p) {
  if (p.num_batches() < 1 || p.batch() < 1 || p.epoch() < 1) return std::nullopt;
  if (p.epoch() != epoch_ || p.batch() <= batch_) {
    // A new epoch (or a run that resumed): the running mean starts again.
    epoch_ = p.epoch();
    batch_ = 0;
    epoch_sum_ = 0;
  }
  // The trainer reports the mean of the epoch's batches so far; the difference of two running
  // sums is the loss of the batches in between (exact to ~1e-16 relative: sums are doubles).
  const double sum = p.mean_loss() * static_cast<double>(p.batch());
  window_sum_ += sum - epoch_sum_;
  window_n_ += p.batch() - batch_;
  epoch_sum_ = sum;
  batch_ = p.batch();
  const int64_t step = (p.epoch() - 1) * p.num_batches() + p.batch();
  if (!IsPointStep(step, BaseStride(p.num_batches()))) return std::nullopt;
  v1::ScalarPoint point;
  point.set_tag(kTag);
  point.set_step(step);
  point.set_epoch(static_cast<double>(p.epoch() - 1) +
                  static_cast<double>(p.batch()) / static_cast<double>(p.num_batches()));
  point.set_value(window_sum_ / static_cast<double>(window_n_));
  window_sum_ = 0;
  window_n_ = 0;
  return point;
}

}  // namespace mt::server
