#include "server/loss_series.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace mt::server {
namespace {

constexpr int64_t K = LossSeries::kPointsPerLevel;

v1::BatchProgress Progress(int64_t epoch, int64_t batch, int64_t num_batches, double mean) {
  v1::BatchProgress p;
  p.set_epoch(epoch);
  p.set_batch(batch);
  p.set_num_batches(num_batches);
  p.set_mean_loss(mean);
  return p;
}

TEST(LossSeries, BaseStrideGivesAboutTwentyPointsAnEpoch) {
  EXPECT_EQ(LossSeries::BaseStride(1), 1);
  EXPECT_EQ(LossSeries::BaseStride(7), 1);
  EXPECT_EQ(LossSeries::BaseStride(29), 1);
  EXPECT_EQ(LossSeries::BaseStride(30), 2);
  EXPECT_EQ(LossSeries::BaseStride(938), 47);  // MNIST, batch size 64
}

TEST(LossSeries, StrideDoublesAfterEveryLevelOfKPoints) {
  int64_t index = -1;
  // Level 0: every step (N = 1), K points.
  for (int64_t s = 1; s <= K; ++s) {
    ASSERT_TRUE(LossSeries::IsPointStep(s, 1, &index)) << s;
    EXPECT_EQ(index, s - 1);
  }
  // Level 1 starts after K steps: every 2nd step.
  EXPECT_FALSE(LossSeries::IsPointStep(K + 1, 1));
  ASSERT_TRUE(LossSeries::IsPointStep(K + 2, 1, &index));
  EXPECT_EQ(index, K);
  ASSERT_TRUE(LossSeries::IsPointStep(3 * K, 1, &index));  // the end of level 1
  EXPECT_EQ(index, 2 * K - 1);
  // Level 2: every 4th step.
  EXPECT_FALSE(LossSeries::IsPointStep(3 * K + 2, 1));
  ASSERT_TRUE(LossSeries::IsPointStep(3 * K + 4, 1, &index));
  EXPECT_EQ(index, 2 * K);
  // N = 5: level 0 every 5th step.
  EXPECT_FALSE(LossSeries::IsPointStep(4, 5));
  ASSERT_TRUE(LossSeries::IsPointStep(5, 5, &index));
  EXPECT_EQ(index, 0);
  ASSERT_TRUE(LossSeries::IsPointStep(5 * K + 10, 5, &index));
  EXPECT_EQ(index, K);
  EXPECT_FALSE(LossSeries::IsPointStep(0, 1));
}

TEST(LossSeries, PointsOfALongJobAreBoundedAsDocumented) {
  const int64_t n = 3, steps = 2'000'000;
  int64_t count = 0, index = -1;
  for (int64_t s = 1; s <= steps; ++s) {
    if (LossSeries::IsPointStep(s, n, &index)) {
      ASSERT_EQ(index, count) << "indices run 0, 1, 2, ... at step " << s;
      ++count;
    }
  }
  // K * ceil(log2(S / (K * N) + 1)) = 256 * ceil(log2(2605.2)) = 256 * 12.
  const int64_t bound =
      K * static_cast<int64_t>(std::ceil(std::log2(static_cast<double>(steps) / (K * n) + 1)));
  EXPECT_EQ(bound, 256 * 12);
  EXPECT_LE(count, bound);
  EXPECT_GT(count, bound - K);  // the last level is partly filled
}

TEST(LossSeries, NoPointsBeyondTheMaximum) {
  // N = 1: the last of kMaxPoints (32 levels of K) is at step K * (2^32 - 1).
  const int64_t last = K * ((int64_t{1} << 32) - 1);
  int64_t index = -1;
  ASSERT_TRUE(LossSeries::IsPointStep(last, 1, &index));
  EXPECT_EQ(index, LossSeries::kMaxPoints - 1);
  EXPECT_FALSE(LossSeries::IsPointStep(last + (int64_t{1} << 32), 1));
  EXPECT_FALSE(LossSeries::IsPointStep(int64_t{1} << 62, 1));
}

TEST(LossSeries, PointValueIsTheMeanLossOfTheBatchesSinceThePreviousPoint) {
  // 40 batches an epoch: N = 2, a point at every even step.
  LossSeries series;
  // Batch losses 1, 3, 2, 6: running means 1, 2, 2, 3.
  EXPECT_FALSE(series.Add(Progress(1, 1, 40, 1.0)));
  std::optional<v1::ScalarPoint> p = series.Add(Progress(1, 2, 40, 2.0));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->tag(), "train/loss");
  EXPECT_EQ(p->step(), 2);
  EXPECT_DOUBLE_EQ(p->epoch(), 2.0 / 40);
  EXPECT_DOUBLE_EQ(p->value(), 2.0);  // (1 + 3) / 2
  EXPECT_FALSE(series.Add(Progress(1, 3, 40, 2.0)));
  p = series.Add(Progress(1, 4, 40, 3.0));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->step(), 4);
  EXPECT_DOUBLE_EQ(p->value(), 4.0);  // (2 + 6) / 2
  // Batches 5..39 of epoch 1 all have loss 1 (running mean (12 + (b - 4)) / b).
  for (int64_t b = 5; b <= 39; ++b) series.Add(Progress(1, b, 40, (12.0 + (b - 4)) / b));
  // Batch 40 (loss 1) and batch 1 of epoch 2 (loss 5) straddle the epoch: one window of two.
  p = series.Add(Progress(1, 40, 40, 48.0 / 40));
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->value(), 1.0);  // (1 + 1) / 2: batches 39 and 40
  EXPECT_FALSE(series.Add(Progress(2, 1, 40, 5.0)));
  p = series.Add(Progress(2, 2, 40, 4.0));  // batch loss 3
  ASSERT_TRUE(p);
  EXPECT_EQ(p->step(), 42);
  EXPECT_DOUBLE_EQ(p->epoch(), 1.0 + 2.0 / 40);
  EXPECT_DOUBLE_EQ(p->value(), 4.0);  // (5 + 3) / 2
}

TEST(LossSeries, AResumedRunRecordsItsPointsWhereAnUninterruptedRunWould) {
  LossSeries resumed;  // a new run, starting at epoch 3 of 7-batch epochs (N = 1)
  std::optional<v1::ScalarPoint> p = resumed.Add(Progress(3, 1, 7, 0.5));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->step(), 15);
  EXPECT_DOUBLE_EQ(p->value(), 0.5);
  p = resumed.Add(Progress(3, 2, 7, 0.25));  // batch loss 0
  ASSERT_TRUE(p);
  EXPECT_EQ(p->step(), 16);
  EXPECT_DOUBLE_EQ(p->value(), 0.0);
}

}  // namespace
}  // namespace mt::server
