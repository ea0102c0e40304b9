// Speed and time left of a running job, from its batch progress: what the progress bar and
// `mt-client status` show beside the batch count. Samples per second are measured over the
// current epoch's batches (from its first reported batch, so the epoch's start-up and the
// previous validation are not counted); the ETA is the training batches left in this and the
// remaining epochs at that speed (validation not included).
#ifndef MT_SERVER_PROGRESS_RATE_H_
#define MT_SERVER_PROGRESS_RATE_H_

#include <chrono>
#include <cstdint>

#include "proto/training.pb.h"

namespace mt::server {

class ProgressRate {
 public:
  // `batch_size`: samples per batch (the last batch of an epoch may be smaller; ignored);
  // `epochs`: the job's total.
  ProgressRate(int64_t batch_size, int64_t epochs) : batch_size_(batch_size), epochs_(epochs) {}

  // `p` with epochs, samples_per_second and eta_seconds filled in, as of `now`. Not
  // thread-safe: one run reports its batches from one thread.
  v1::BatchProgress Annotate(v1::BatchProgress p, std::chrono::steady_clock::time_point now);

 private:
  const int64_t batch_size_;
  const int64_t epochs_;
  int64_t epoch_ = -1;  // the epoch the reference point belongs to
  int64_t first_batch_ = 0;
  std::chrono::steady_clock::time_point first_time_;
};

}  // namespace mt::server

#endif  // MT_SERVER_PROGRESS_RATE_H_
