#include "common/metric_series.h"

#include <algorithm>

namespace mt {

const std::vector<std::string>& EpochMetricTags() {
  static const std::vector<std::string> tags = {
      "epoch/train_loss",     "epoch/valid_loss",    "epoch/train_accuracy",
      "epoch/valid_accuracy", "epoch/learning_rate", "epoch/samples_per_second"};
  return tags;
}

std::vector<v1::ScalarPoint> EpochScalarPoints(const v1::EpochMetrics& m) {
  std::vector<v1::ScalarPoint> out;
  auto add = [&](const char* tag, double value) {
    v1::ScalarPoint p;
    p.set_tag(tag);
    p.set_step(m.step());
    p.set_epoch(static_cast<double>(m.epoch()));
    p.set_value(value);
    out.push_back(std::move(p));
  };
  add("epoch/train_loss", m.train_loss());
  if (m.valid_loss() != 0) add("epoch/valid_loss", m.valid_loss());
  add("epoch/train_accuracy", m.train_accuracy());
  add("epoch/valid_accuracy", m.valid_accuracy());
  add("epoch/learning_rate", m.learning_rate());
  add("epoch/samples_per_second", m.samples_per_second());
  return out;
}

void MetricSeries::AddPoint(const v1::ScalarPoint& p, bool per_epoch) {
  std::vector<MetricPoint>& s = series_[p.tag()];
  // Drop what a repeated stretch of training supersedes (see the header).
  auto superseded = per_epoch ? std::find_if(s.begin(), s.end(),
                                             [&](const MetricPoint& q) {
                                               return q.epoch >= p.epoch();
                                             })
                              : std::find_if(s.begin(), s.end(), [&](const MetricPoint& q) {
                                  return q.step >= p.step();
                                });
  s.erase(superseded, s.end());
  s.push_back(MetricPoint{p.step(), p.epoch(), p.value()});
}

void MetricSeries::Add(const v1::JobEvent& event) {
  if (event.has_scalars()) {
    for (const v1::ScalarPoint& p : event.scalars().points()) AddPoint(p, /*per_epoch=*/false);
  } else if (event.has_epoch()) {
    const v1::EpochMetrics& m = event.epoch();
    epochs_.erase(epochs_.lower_bound(m.epoch()), epochs_.end());
    epochs_[m.epoch()] = m;
    for (const v1::ScalarPoint& p : EpochScalarPoints(m)) AddPoint(p, /*per_epoch=*/true);
  } else if (event.has_confusion()) {
    const v1::ConfusionMatrix& c = event.confusion();
    confusions_.erase(confusions_.lower_bound(c.epoch()), confusions_.end());
    confusions_[c.epoch()] = c;
  }
}

}  // namespace mt
