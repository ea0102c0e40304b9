#include "server/progress_rate.h"

#include <algorithm>

namespace mt::server {

v1::BatchProgress ProgressRate::Annotate(v1::BatchProgress p,
                                         std::chrono::steady_clock::time_point now) {
  p.set_epochs(epochs_);
  if (p.epoch() != epoch_ || p.batch() < first_batch_) {
    epoch_ = p.epoch();
    first_batch_ = p.batch();
    first_time_ = now;
    return p;  // one point gives no speed
  }
  const double seconds = std::chrono::duration<double>(now - first_time_).count();
  const int64_t batches = p.batch() - first_batch_;
  if (seconds <= 0 || batches <= 0 || batch_size_ <= 0) return p;
  const double batches_per_second = static_cast<double>(batches) / seconds;
  p.set_samples_per_second(batches_per_second * static_cast<double>(batch_size_));
  const int64_t left_this_epoch = std::max<int64_t>(p.num_batches() - p.batch(), 0);
  const int64_t later_epochs = std::max<int64_t>(epochs_ - p.epoch(), 0);
  p.set_eta_seconds(static_cast<double>(left_this_epoch + later_epochs * p.num_batches()) /
                    batches_per_second);
  return p;
}

}  // namespace mt::server
