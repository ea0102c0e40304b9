#include "common/metric_series.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mt {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::JobEvent Loss(int64_t step, double epoch, double value) {
  v1::JobEvent e;
  v1::ScalarPoint* p = e.mutable_scalars()->add_points();
  p->set_tag("train/loss");
  p->set_step(step);
  p->set_epoch(epoch);
  p->set_value(value);
  return e;
}

v1::JobEvent Epoch(int64_t epoch, double train_loss, double valid_loss) {
  v1::JobEvent e;
  v1::EpochMetrics* m = e.mutable_epoch();
  m->set_epoch(epoch);
  m->set_step(epoch * 10);
  m->set_train_loss(train_loss);
  m->set_valid_loss(valid_loss);
  m->set_train_accuracy(0.5);
  m->set_valid_accuracy(0.75);
  m->set_learning_rate(0.1);
  m->set_samples_per_second(1000);
  return e;
}

std::vector<double> Values(const std::vector<MetricPoint>& points) {
  std::vector<double> out;
  for (const MetricPoint& p : points) out.push_back(p.value);
  return out;
}

std::vector<int64_t> Steps(const std::vector<MetricPoint>& points) {
  std::vector<int64_t> out;
  for (const MetricPoint& p : points) out.push_back(p.step);
  return out;
}

TEST(MetricSeries, FoldsLossPointsAndEpochsIntoNamedSeries) {
  MetricSeries s;
  v1::JobEvent state;
  state.mutable_state()->set_state(v1::RUNNING);
  s.Add(state);
  s.Add(Loss(5, 0.5, 2.0));
  s.Add(Loss(10, 1.0, 1.0));
  s.Add(Epoch(1, 1.5, 0.9));
  s.Add(Loss(15, 1.5, 0.5));
  s.Add(Epoch(2, 0.7, 0.6));
  ASSERT_EQ(s.series().count("train/loss"), 1u);
  EXPECT_THAT(Steps(s.series().at("train/loss")), ElementsAre(5, 10, 15));
  EXPECT_THAT(Values(s.series().at("train/loss")), ElementsAre(2.0, 1.0, 0.5));
  EXPECT_THAT(Values(s.series().at("epoch/train_loss")), ElementsAre(1.5, 0.7));
  EXPECT_THAT(Steps(s.series().at("epoch/train_loss")), ElementsAre(10, 20));
  EXPECT_THAT(Values(s.series().at("epoch/valid_loss")), ElementsAre(0.9, 0.6));
  EXPECT_THAT(Values(s.series().at("epoch/valid_accuracy")), ElementsAre(0.75, 0.75));
  EXPECT_THAT(Values(s.series().at("epoch/learning_rate")), ElementsAre(0.1, 0.1));
  EXPECT_THAT(Values(s.series().at("epoch/samples_per_second")), ElementsAre(1000, 1000));
  EXPECT_EQ(s.series().at("epoch/train_accuracy").back().epoch, 2.0);
  EXPECT_EQ(s.series().size(), 7u);
  EXPECT_THAT(s.epochs(), ::testing::SizeIs(2));
  EXPECT_THAT(s.confusions(), IsEmpty());
}

TEST(MetricSeries, ARepeatedEpochReplacesTheSeriesFromThere) {
  MetricSeries s;
  s.Add(Loss(5, 0.5, 2.0));
  s.Add(Loss(10, 1.0, 1.0));
  s.Add(Epoch(1, 1.5, 0.9));
  s.Add(Loss(15, 1.5, 0.5));  // epoch 2 was interrupted here; the resumed run repeats it
  s.Add(Loss(15, 1.5, 0.25));
  s.Add(Loss(20, 2.0, 0.125));
  EXPECT_THAT(Steps(s.series().at("train/loss")), ElementsAre(5, 10, 15, 20));
  EXPECT_THAT(Values(s.series().at("train/loss")), ElementsAre(2.0, 1.0, 0.25, 0.125));
  s.Add(Loss(12, 1.2, 9.0));  // an earlier step drops every later point
  EXPECT_THAT(Steps(s.series().at("train/loss")), ElementsAre(5, 10, 12));
  s.Add(Epoch(1, 1.25, 0.8));
  EXPECT_THAT(Values(s.series().at("epoch/train_loss")), ElementsAre(1.25));
  EXPECT_EQ(s.epochs().at(1).train_loss(), 1.25);
}

TEST(MetricSeries, ValidationLossZeroMeansNotMeasured) {
  MetricSeries s;
  s.Add(Epoch(1, 1.5, 0));  // recorded by an mt from before validation loss
  EXPECT_EQ(s.series().count("epoch/valid_loss"), 0u);
  EXPECT_EQ(s.series().count("epoch/train_loss"), 1u);
}

TEST(MetricSeries, KeepsTheLatestConfusionMatrixOfEachEpoch) {
  MetricSeries s;
  for (int64_t epoch : {1, 2, 2}) {
    v1::JobEvent e;
    e.mutable_confusion()->set_epoch(epoch);
    e.mutable_confusion()->set_num_classes(2);
    for (int64_t n : {3, 1, 0, 4}) e.mutable_confusion()->add_counts(n + epoch);
    s.Add(e);
  }
  ASSERT_EQ(s.confusions().size(), 2u);
  EXPECT_THAT(s.confusions().at(2).counts(), ElementsAre(5, 3, 2, 6));
}

}  // namespace
}  // namespace mt
