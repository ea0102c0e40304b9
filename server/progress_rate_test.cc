#include "server/progress_rate.h"

#include <gtest/gtest.h>

namespace mt::server {
namespace {

using std::chrono::milliseconds;

v1::BatchProgress At(int64_t epoch, int64_t batch, int64_t num_batches) {
  v1::BatchProgress p;
  p.set_epoch(epoch);
  p.set_batch(batch);
  p.set_num_batches(num_batches);
  p.set_mean_loss(0.5);
  return p;
}

TEST(ProgressRate, SpeedAndEtaFromTheEpochsBatches) {
  ProgressRate rate(/*batch_size=*/64, /*epochs=*/3);
  const auto t0 = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  // The first batch of an epoch gives no speed yet, only the total.
  v1::BatchProgress p = rate.Annotate(At(1, 1, 101), t0);
  EXPECT_EQ(p.epochs(), 3);
  EXPECT_EQ(p.samples_per_second(), 0);
  EXPECT_EQ(p.mean_loss(), 0.5);
  // 10 batches of 64 in 2 s: 320 samples/s, 5 batches/s. Left: 90 batches of this epoch and
  // 2 epochs of 101: 292 batches, 58.4 s.
  p = rate.Annotate(At(1, 11, 101), t0 + milliseconds(2000));
  EXPECT_DOUBLE_EQ(p.samples_per_second(), 320);
  EXPECT_DOUBLE_EQ(p.eta_seconds(), 292.0 / 5);
  // A new epoch starts a new measurement (the validation in between is not training speed).
  p = rate.Annotate(At(2, 1, 101), t0 + milliseconds(30000));
  EXPECT_EQ(p.samples_per_second(), 0);
  p = rate.Annotate(At(2, 51, 101), t0 + milliseconds(35000));
  EXPECT_DOUBLE_EQ(p.samples_per_second(), 640);
  EXPECT_DOUBLE_EQ(p.eta_seconds(), (50.0 + 101) / 10);
  // The last batch of the last epoch: nothing left.
  p = rate.Annotate(At(3, 1, 101), t0 + milliseconds(40000));
  p = rate.Annotate(At(3, 101, 101), t0 + milliseconds(50000));
  EXPECT_DOUBLE_EQ(p.eta_seconds(), 0);
}

TEST(ProgressRate, ARestartedRunOrNoTimeGivesNoSpeed) {
  ProgressRate rate(32, 2);
  const auto t0 = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  rate.Annotate(At(1, 5, 10), t0);
  EXPECT_EQ(rate.Annotate(At(1, 6, 10), t0).samples_per_second(), 0);  // no time passed
  // Going back (a resumed run repeats the epoch) restarts the measurement.
  EXPECT_EQ(rate.Annotate(At(1, 2, 10), t0 + milliseconds(10)).samples_per_second(), 0);
  EXPECT_DOUBLE_EQ(rate.Annotate(At(1, 4, 10), t0 + milliseconds(1010)).samples_per_second(), 64);
}

}  // namespace
}  // namespace mt::server
