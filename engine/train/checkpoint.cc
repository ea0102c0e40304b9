#include "engine/train/checkpoint.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/ops.h"

namespace mt::train {
namespace {

constexpr char kFormatKey[] = "format";
constexpr char kTaskKey[] = "mt.task";
constexpr char kModelKey[] = "mt.model";
constexpr char kConfigKey[] = "mt.config";
constexpr char kEpochKey[] = "mt.epoch";
constexpr char kStepsKey[] = "mt.optimizer_steps";
constexpr char kLrKey[] = "mt.lr";
constexpr char kShuffleRngKey[] = "mt.rng.shuffle";
constexpr char kDropoutRngKey[] = "mt.rng.dropout";
constexpr char kBestAccuracyKey[] = "mt.best_valid_accuracy";
constexpr char kBestEpochKey[] = "mt.best_epoch";
constexpr char kEpochMetricsKey[] = "mt.epoch_metrics";

const char* const kOwnedKeys[] = {kFormatKey,     kTaskKey,         kModelKey,     kConfigKey,
                                  kEpochKey,      kStepsKey,        kLrKey,        kShuffleRngKey,
                                  kDropoutRngKey, kBestAccuracyKey, kBestEpochKey, kEpochMetricsKey,
                                  kVocabKey};

std::string Value(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

absl::StatusOr<int64_t> MetaInt(const std::map<std::string, std::string>& m,
                                const std::string& key) {
  auto it = m.find(key);
  int64_t v;
  if (it == m.end() || !absl::SimpleAtoi(it->second, &v)) {
    return absl::DataLossError(
        absl::StrCat("checkpoint metadata '", key, "' is missing or not an integer"));
  }
  return v;
}

// A double as text that reads back as the same double: the shortest of "%.15g".."%.17g" that
// round-trips ("%.17g" always does), so that a resumed run continues with exactly the learning
// rate and best accuracy it stopped with, while round values stay readable ("0.0343"). Older
// checkpoints hold 6 significant digits (absl::StrCat); SimpleAtod still reads them.
std::string ExactDouble(double v) {
  char buf[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
    double back;
    if (absl::SimpleAtod(buf, &back) && back == v) break;
  }
  return buf;
}

std::vector<std::string> SplitVocab(const std::string& text) {
  std::vector<std::string> tokens = absl::StrSplit(text, '\n');
  if (!tokens.empty() && tokens.back().empty()) tokens.pop_back();  // newline-terminated
  return tokens;
}

}  // namespace

std::map<std::string, std::string> CheckpointMetadata(const CheckpointMeta& meta) {
  std::map<std::string, std::string> m = meta.extra;
  m[kFormatKey] = "pt";  // safetensors' convention for PyTorch-loadable files
  m[kTaskKey] = meta.task;
  m[kModelKey] = meta.model;
  m[kConfigKey] = meta.config_json;
  m[kEpochKey] = std::to_string(meta.epoch);
  m[kStepsKey] = std::to_string(meta.optimizer_steps);
  m[kLrKey] = ExactDouble(meta.lr);
  m[kShuffleRngKey] = meta.shuffle_rng;
  m[kDropoutRngKey] = meta.dropout_rng;
  m[kBestAccuracyKey] = ExactDouble(meta.best_valid_accuracy);
  m[kBestEpochKey] = std::to_string(meta.best_epoch);
  if (meta.epoch_metrics) m[kEpochMetricsKey] = EpochMetricsToJson(*meta.epoch_metrics);
  if (meta.vocab) {
    std::string text;
    for (const std::string& t : *meta.vocab) absl::StrAppend(&text, t, "\n");
    m[kVocabKey] = std::move(text);
  }
  return m;
}

absl::StatusOr<CheckpointMeta> ReadCheckpointMeta(const io::TensorFile& file,
                                                  const std::string& source) {
  const std::map<std::string, std::string>& m = file.metadata;
  CheckpointMeta meta;
  meta.task = Value(m, kTaskKey);
  meta.model = Value(m, kModelKey);
  meta.config_json = Value(m, kConfigKey);
  absl::StatusOr<int64_t> steps = MetaInt(m, kStepsKey);
  absl::StatusOr<int64_t> epoch = MetaInt(m, kEpochKey);
  absl::StatusOr<int64_t> best_epoch = MetaInt(m, kBestEpochKey);
  if (!steps.ok()) return steps.status();
  if (!epoch.ok()) return epoch.status();
  if (!best_epoch.ok()) return best_epoch.status();
  meta.optimizer_steps = *steps;
  meta.epoch = *epoch;
  meta.best_epoch = *best_epoch;
  if (!absl::SimpleAtod(Value(m, kLrKey), &meta.lr) ||
      !absl::SimpleAtod(Value(m, kBestAccuracyKey), &meta.best_valid_accuracy)) {
    return absl::DataLossError(
        absl::StrCat(source, source.empty() ? "" : ": ",
                     "checkpoint metadata mt.lr / mt.best_valid_accuracy is malformed"));
  }
  meta.shuffle_rng = Value(m, kShuffleRngKey);
  meta.dropout_rng = Value(m, kDropoutRngKey);
  if (auto it = m.find(kEpochMetricsKey); it != m.end()) {
    absl::StatusOr<EpochMetrics> em = EpochMetricsFromJson(it->second);
    if (!em.ok()) return em.status();
    meta.epoch_metrics = *em;
  }
  if (auto it = m.find(kVocabKey); it != m.end()) meta.vocab = SplitVocab(it->second);
  for (const auto& [key, value] : m) {
    bool owned = false;
    for (const char* k : kOwnedKeys) owned |= key == k;
    if (!owned) meta.extra.emplace(key, value);
  }
  return meta;
}

CheckpointSummary SummarizeCheckpoint(const std::map<std::string, std::string>& metadata) {
  CheckpointSummary s;
  s.task = Value(metadata, kTaskKey);
  s.model = Value(metadata, kModelKey);
  if (!absl::SimpleAtoi(Value(metadata, kEpochKey), &s.epoch)) s.epoch = 0;
  if (auto it = metadata.find(kEpochMetricsKey); it != metadata.end()) {
    absl::StatusOr<EpochMetrics> m = EpochMetricsFromJson(it->second);
    if (m.ok()) s.epoch_metrics = *m;
  }
  return s;
}

io::TensorFile MakeCheckpoint(const models::Model& model, const optim::Optimizer& optimizer,
                              const CheckpointMeta& meta) {
  io::TensorFile f;
  for (auto& [name, t] : model.NamedParameters()) f.tensors.emplace_back(name, t);
  for (auto& [name, t] : optimizer.StateTensors()) {
    f.tensors.emplace_back(kOptimizerTensorPrefix + name, t);
  }
  f.metadata = CheckpointMetadata(meta);
  return f;
}

absl::Status LoadOptimizerState(const io::TensorFile& file, int64_t steps,
                                optim::Optimizer* optimizer) {
  std::vector<std::pair<std::string, Tensor>> state;
  const size_t prefix = std::strlen(kOptimizerTensorPrefix);
  for (auto& [name, t] : file.tensors) {
    if (name.rfind(kOptimizerTensorPrefix, 0) == 0) state.emplace_back(name.substr(prefix), t);
  }
  return optimizer->LoadState(steps, state);
}

absl::Status LoadWeights(const io::TensorFile& file, models::Model* model) {
  nn::NamedTensors params = model->NamedParameters();
  for (auto& [name, p] : params) {
    absl::StatusOr<Tensor> t = file.Get(name);
    if (!t.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("checkpoint lacks parameter '", name,
                                                     "' of model ", model->name()));
    }
    if (t->shape() != p.shape() || t->dtype() != p.dtype()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint parameter '", name, "' is ", ShapeToString(t->shape()), " ",
          DTypeName(t->dtype()), " but model ", model->name(), " needs ",
          ShapeToString(p.shape()), " ", DTypeName(p.dtype())));
    }
    // Parameters are views into the model's flat buffer: copy into them, never rebind.
    CopyInto(p, *t);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<data::Vocab>> CheckpointVocab(const io::TensorFile& file,
                                                             const std::string& path) {
  return CheckpointVocab(file.metadata, path);
}

absl::StatusOr<std::shared_ptr<data::Vocab>> CheckpointVocab(
    const std::map<std::string, std::string>& metadata, const std::string& path) {
  auto it = metadata.find(kVocabKey);
  if (it == metadata.end()) {
    return absl::DataLossError(absl::StrCat(path, ": checkpoint lacks the vocabulary (",
                                            kVocabKey, " metadata)"));
  }
  absl::StatusOr<data::Vocab> vocab = data::Vocab::FromTokens(SplitVocab(it->second));
  if (!vocab.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": vocabulary in metadata is damaged: ",
                                            vocab.status().message()));
  }
  return std::make_shared<data::Vocab>(std::move(*vocab));
}

std::string JoinVocab(const data::Vocab& vocab) {
  std::string out;
  for (const std::string& t : vocab.tokens()) absl::StrAppend(&out, t, "\n");
  return out;
}

io::TensorFile ExportedModel(const io::TensorFile& checkpoint) {
  io::TensorFile out;
  for (auto& [name, t] : checkpoint.tensors) {
    if (name.rfind(kOptimizerTensorPrefix, 0) != 0) out.tensors.emplace_back(name, t);
  }
  for (const char* key : {kFormatKey, kTaskKey, kModelKey, kConfigKey, kEpochKey, kVocabKey}) {
    auto it = checkpoint.metadata.find(key);
    if (it != checkpoint.metadata.end()) out.metadata[key] = it->second;
  }
  out.metadata[kFormatKey] = "pt";
  return out;
}

}  // namespace mt::train
