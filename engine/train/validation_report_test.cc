// The trainer's evaluation report against independent computations on the same model: the loss
// from the NllLoss op over the whole split at once, the predictions from Argmax one example at a
// time; and the report's bounds (the misclassified list, the epoch it belongs to).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "engine/autograd.h"
#include "engine/data/mnist_fixture.h"
#include "engine/train/trainer.h"

namespace mt::train {
namespace {

using data::testing::SyntheticDigits;

TrainConfig SmallConfig() {
  TrainConfig c = DefaultConfig("mnist", "lenet5");
  c.epochs = 1;
  c.batch_size = 16;
  c.seed = 7;
  c.threads = 2;
  return c;
}

TEST(ValidationReport, MatchesIndependentLossAndPredictions) {
  // 1100 examples: more than one evaluation chunk (1000), so chunk boundaries are covered.
  MnistDataset train(SyntheticDigits(96, 1)), valid(SyntheticDigits(1100, 2));
  TrainConfig c = SmallConfig();
  models::Lenet5 net(c.seed);
  Trainer t(c, &net, &train, &valid);
  ASSERT_TRUE(t.Run().ok());
  t.set_max_misclassified(5);
  const ValidationReport r = t.EvaluateReport(valid);

  // Independent: the whole split in one forward, the op's mean NLL, per-example argmax.
  NoGradGuard no_grad;
  net.Eval();
  std::vector<int64_t> idx(valid.size());
  std::iota(idx.begin(), idx.end(), 0);
  Batch all = valid.Get(idx.data(), valid.size());
  const Tensor log_probs = net.Forward(all.input);
  const double loss = NllLoss(log_probs, all.target).item();
  const std::vector<double> lp = log_probs.ToVector();
  const std::vector<int64_t> labels = all.target.ToInt64Vector();
  std::vector<int64_t> confusion(100, 0);
  std::vector<int64_t> wrong;
  for (int64_t i = 0; i < valid.size(); ++i) {
    int64_t best = 0;
    for (int64_t k = 1; k < 10; ++k) {
      if (lp[i * 10 + k] > lp[i * 10 + best]) best = k;
    }
    ++confusion[labels[i] * 10 + best];
    if (best != labels[i]) wrong.push_back(i);
  }

  EXPECT_EQ(r.num_classes, 10);
  EXPECT_EQ(r.total, 1100);
  EXPECT_NEAR(r.loss, loss, 1e-5 * loss);
  EXPECT_EQ(r.confusion, confusion);
  EXPECT_EQ(r.misclassified_total, static_cast<int64_t>(wrong.size()));
  EXPECT_EQ(r.correct, 1100 - r.misclassified_total);
  ASSERT_GE(wrong.size(), 5u) << "the fixture should leave some mistakes after one epoch";
  ASSERT_EQ(r.misclassified.size(), 5u);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(r.misclassified[k].index, wrong[k]);
    EXPECT_EQ(r.misclassified[k].label, labels[wrong[k]]);
    EXPECT_NE(r.misclassified[k].predicted, r.misclassified[k].label);
  }
  // Evaluate is the same pass.
  const auto [acc, correct] = t.Evaluate(valid);
  EXPECT_EQ(correct, r.correct);
  EXPECT_DOUBLE_EQ(acc, r.correct / 1100.0);
}

TEST(ValidationReport, EachEpochsReportIsKeptForTheHooks) {
  MnistDataset train(SyntheticDigits(64, 3)), valid(SyntheticDigits(40, 4));
  TrainConfig c = SmallConfig();
  c.epochs = 2;
  models::Lenet5 net(c.seed);
  Trainer t(c, &net, &train, &valid);
  EXPECT_EQ(t.max_misclassified(), 64);
  std::vector<int64_t> seen;
  t.AddAfterEpochHook([&](const EpochMetrics& m) {
    const ValidationReport& r = t.last_validation();
    seen.push_back(r.epoch);
    EXPECT_EQ(r.epoch, m.epoch);
    EXPECT_EQ(r.correct, m.valid_correct);
    EXPECT_EQ(r.total, m.valid_total);
    EXPECT_DOUBLE_EQ(r.loss, m.valid_loss);
    EXPECT_GT(m.valid_loss, 0);
    EXPECT_EQ(std::accumulate(r.confusion.begin(), r.confusion.end(), int64_t{0}), 40);
  });
  ASSERT_TRUE(t.Run().ok());
  EXPECT_THAT(seen, ::testing::ElementsAre(1, 2));
}

TEST(ValidationReport, CheckpointMetricsKeepTheValidationLossAndOldOnesReadWithout) {
  EpochMetrics m;
  m.epoch = 2;
  m.valid_loss = 0.3125;
  absl::StatusOr<EpochMetrics> back = EpochMetricsFromJson(EpochMetricsToJson(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->valid_loss, 0.3125);
  // As checkpoints written before validation loss was measured have them.
  absl::StatusOr<EpochMetrics> old = EpochMetricsFromJson(
      R"({"epoch":1,"train_loss":1.5,"train_accuracy":0.5,"valid_accuracy":0.75,)"
      R"("valid_correct":3,"valid_total":4,"seconds":1.0,"samples_per_second":10.0,"lr":0.1})");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->valid_loss, 0);
  EXPECT_EQ(old->valid_correct, 3);
}

}  // namespace
}  // namespace mt::train
