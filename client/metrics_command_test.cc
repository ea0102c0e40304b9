#include "client/metrics_command.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mt::client {
namespace {

using ::testing::ElementsAre;

MetricSeries TwoEpochs() {
  MetricSeries s;
  for (int64_t step : {4, 8, 12, 16}) {
    v1::JobEvent e;
    v1::ScalarPoint* p = e.mutable_scalars()->add_points();
    p->set_tag("train/loss");
    p->set_step(step);
    p->set_epoch(step / 8.0);
    p->set_value(2.0 / step);
    s.Add(e);
    if (step % 8 == 0) {
      v1::JobEvent epoch;
      v1::EpochMetrics* m = epoch.mutable_epoch();
      m->set_epoch(step / 8);
      m->set_step(step);
      m->set_train_loss(0.75 / m->epoch());
      m->set_valid_loss(step == 8 ? 0.5 : 0.0);  // epoch 2 as from an older daemon
      m->set_train_accuracy(0.5 + 0.25 * (m->epoch() - 1));
      m->set_valid_accuracy(0.875);
      m->set_learning_rate(0.05);
      m->set_samples_per_second(1234.4);
      s.Add(epoch);
    }
  }
  return s;
}

TEST(MetricsCommand, TablesShowEpochsThenTheLossPoints) {
  EXPECT_EQ(MetricsTables("job-000001", TwoEpochs()),
            "job-000001: 2 epochs\n"
            "\n"
            "epoch  step  train loss  valid loss  train acc  valid acc    lr  samples/s\n"
            "    1     8      0.7500      0.5000     50.00%     87.50%  0.05       1234\n"
            "    2    16      0.3750           -     75.00%     87.50%  0.05       1234\n"
            "\n"
            "training loss (mean since the previous point), 4 points\n"
            "step  epoch    loss\n"
            "   4   0.50  0.5000\n"
            "   8   1.00  0.2500\n"
            "  12   1.50  0.1667\n"
            "  16   2.00  0.1250\n");
}

TEST(MetricsCommand, TablesOfAJobWithNoBatchYet) {
  EXPECT_EQ(MetricsTables("job-000002", MetricSeries()),
            "job-000002: 0 epochs\nno metrics yet: the job has not trained a batch\n");
}

TEST(MetricsCommand, CsvHasAHeaderAndOneRowPerPoint) {
  const std::string csv = MetricsCsv(TwoEpochs());
  EXPECT_EQ(csv,
            "series,step,epoch,value\n"
            "epoch/learning_rate,8,1,0.050000000000000003\n"
            "epoch/learning_rate,16,2,0.050000000000000003\n"
            "epoch/samples_per_second,8,1,1234.4000000000001\n"
            "epoch/samples_per_second,16,2,1234.4000000000001\n"
            "epoch/train_accuracy,8,1,0.5\n"
            "epoch/train_accuracy,16,2,0.75\n"
            "epoch/train_loss,8,1,0.75\n"
            "epoch/train_loss,16,2,0.375\n"
            "epoch/valid_accuracy,8,1,0.875\n"
            "epoch/valid_accuracy,16,2,0.875\n"
            "epoch/valid_loss,8,1,0.5\n"
            "train/loss,4,0.5,0.5\n"
            "train/loss,8,1,0.25\n"
            "train/loss,12,1.5,0.16666666666666666\n"
            "train/loss,16,2,0.125\n");
}

TEST(MetricsCommand, JsonHoldsEverySeries) {
  const std::string json = MetricsJson("job-000001", TwoEpochs());
  EXPECT_THAT(json, ::testing::HasSubstr("\"job_id\": \"job-000001\""));
  EXPECT_THAT(json, ::testing::HasSubstr("\"train/loss\": ["));
  EXPECT_THAT(json, ::testing::HasSubstr("\"value\": 0.125"));
}

TEST(MetricsCommand, TakesTheCommandAndItsCsvFlag) {
  std::vector<std::string> argv = {"--server", "h:1", "metrics", "job-000001", "--csv"};
  MetricsCommand m = TakeMetricsCommand(&argv);
  EXPECT_TRUE(m.active);
  EXPECT_TRUE(m.csv);
  EXPECT_THAT(argv, ElementsAre("--server", "h:1", "logs", "job-000001"));

  argv = {"metrics", "job-000001", "--json"};
  m = TakeMetricsCommand(&argv);
  EXPECT_TRUE(m.active);
  EXPECT_FALSE(m.csv);
  EXPECT_THAT(argv, ElementsAre("logs", "job-000001", "--json"));

  argv = {"logs", "metrics"};  // a job named "metrics" is logs's business
  EXPECT_FALSE(TakeMetricsCommand(&argv).active);
  EXPECT_THAT(argv, ElementsAre("logs", "metrics"));
  argv = {"--server=h:1", "list", "--csv"};
  EXPECT_FALSE(TakeMetricsCommand(&argv).active);
  EXPECT_THAT(argv, ElementsAre("--server=h:1", "list", "--csv"));
}

TEST(MetricsCommandDeathTest, HelpExitsZeroAndAMissingJobExitsTwo) {
  std::vector<std::string> argv = {"metrics", "--help"};
  EXPECT_EXIT(TakeMetricsCommand(&argv), ::testing::ExitedWithCode(0), "");
  argv = {"metrics"};
  EXPECT_EXIT(TakeMetricsCommand(&argv), ::testing::ExitedWithCode(2), "metrics needs a JOB id");
}

}  // namespace
}  // namespace mt::client
