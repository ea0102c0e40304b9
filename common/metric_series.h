// A job's history as series, folded from its WatchJob events (in seq order, as a replay gives
// them): the training-loss points of ScalarPoints events, the per-epoch series of EpochMetrics
// events, and each epoch's confusion matrix. Shared by mt-client metrics, the TensorBoard files
// and the dashboard, so that all three show the same numbers under the same names.
//
// Tags: "train/loss" (every few batches, see server/loss_series.h) and, per epoch,
// "epoch/train_loss", "epoch/valid_loss", "epoch/train_accuracy", "epoch/valid_accuracy"
// (fractions), "epoch/learning_rate", "epoch/samples_per_second".
//
// A resumed job repeats the epoch it was interrupted in: a point whose step (per-epoch series:
// whose epoch) is at or below the last one of its series replaces the series from there on, so
// each series is strictly increasing and shows what the finished job's epochs did.
#ifndef MT_COMMON_METRIC_SERIES_H_
#define MT_COMMON_METRIC_SERIES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "proto/training.pb.h"

namespace mt {

struct MetricPoint {
  int64_t step = 0;   // batches from the start of the job; 0 when unknown
  double epoch = 0;   // the same position in epochs (per-epoch series: the epoch number)
  double value = 0;
};

// The per-epoch tags in the order tables show them.
const std::vector<std::string>& EpochMetricTags();
// An epoch's metrics as points of the per-epoch series (valid loss left out when it is 0, i.e.
// not measured).
std::vector<v1::ScalarPoint> EpochScalarPoints(const v1::EpochMetrics& m);

class MetricSeries {
 public:
  // Folds one event; kinds without history (state changes, progress) are ignored.
  void Add(const v1::JobEvent& event);

  // By tag, in increasing step (per-epoch series: increasing epoch).
  const std::map<std::string, std::vector<MetricPoint>>& series() const { return series_; }
  // The latest EpochMetrics of each epoch, by epoch.
  const std::map<int64_t, v1::EpochMetrics>& epochs() const { return epochs_; }
  // The latest confusion matrix of each epoch, by epoch.
  const std::map<int64_t, v1::ConfusionMatrix>& confusions() const { return confusions_; }

 private:
  void AddPoint(const v1::ScalarPoint& p, bool per_epoch);

  std::map<std::string, std::vector<MetricPoint>> series_;
  std::map<int64_t, v1::EpochMetrics> epochs_;
  std::map<int64_t, v1::ConfusionMatrix> confusions_;
};

}  // namespace mt

#endif  // MT_COMMON_METRIC_SERIES_H_
