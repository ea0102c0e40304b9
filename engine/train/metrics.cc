#include "engine/train/metrics.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace mt::train {

std::string EpochMetricsToJson(const EpochMetrics& m) {
  return nlohmann::json{{"epoch", m.epoch},
                        {"train_loss", m.train_loss},
                        {"train_accuracy", m.train_accuracy},
                        {"valid_accuracy", m.valid_accuracy},
                        {"valid_correct", m.valid_correct},
                        {"valid_total", m.valid_total},
                        {"seconds", m.seconds},
                        {"samples_per_second", m.samples_per_second},
                        {"lr", m.lr},
                        {"valid_loss", m.valid_loss}}
      .dump();
}

absl::StatusOr<EpochMetrics> EpochMetricsFromJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  EpochMetrics m;
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError("epoch metrics are not a JSON object");
  }
  try {
    m.epoch = j.at("epoch").get<int64_t>();
    m.train_loss = j.at("train_loss").get<double>();
    m.train_accuracy = j.at("train_accuracy").get<double>();
    m.valid_accuracy = j.at("valid_accuracy").get<double>();
    m.valid_correct = j.at("valid_correct").get<int64_t>();
    m.valid_total = j.at("valid_total").get<int64_t>();
    m.seconds = j.at("seconds").get<double>();
    m.samples_per_second = j.at("samples_per_second").get<double>();
    m.lr = j.at("lr").get<double>();
    // Checkpoints written before validation loss was measured have none.
    if (j.contains("valid_loss")) m.valid_loss = j.at("valid_loss").get<double>();
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat("epoch metrics are incomplete: ", e.what()));
  }
  return m;
}

}  // namespace mt::train
