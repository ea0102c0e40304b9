#include "engine/train/trainer.h"

#include <omp.h>

#include <chrono>
#include <cstring>
#include <numeric>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/autograd.h"

namespace mt::train {
namespace {

constexpr char kOptimPrefix[] = "optim.";

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int64_t CountCorrect(const Tensor& log_probs, const Tensor& target) {
  std::vector<int64_t> pred = Argmax(log_probs, 1).ToInt64Vector();
  std::vector<int64_t> want = target.ToInt64Vector();
  int64_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == want[i];
  return correct;
}

absl::StatusOr<int64_t> MetaInt(const io::TensorFile& f, const std::string& key) {
  auto it = f.metadata.find(key);
  int64_t v;
  if (it == f.metadata.end() || !absl::SimpleAtoi(it->second, &v)) {
    return absl::DataLossError(absl::StrCat("checkpoint metadata '", key, "' is missing or not an integer"));
  }
  return v;
}

}  // namespace

std::string EpochMetricsToJson(const EpochMetrics& m) {
  return nlohmann::json{{"epoch", m.epoch},
                        {"train_loss", m.train_loss},
                        {"train_accuracy", m.train_accuracy},
                        {"valid_accuracy", m.valid_accuracy},
                        {"valid_correct", m.valid_correct},
                        {"valid_total", m.valid_total},
                        {"seconds", m.seconds},
                        {"samples_per_second", m.samples_per_second},
                        {"lr", m.lr}}
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
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat("epoch metrics are incomplete: ", e.what()));
  }
  return m;
}

Trainer::Trainer(const TrainConfig& config, models::Model* model, const Dataset* train,
                 const Dataset* valid)
    : config_(config), model_(model), train_(train), valid_(valid), shuffle_gen_(config.seed) {
  if (config_.optimizer == "adam") {
    optimizer_ = std::make_unique<optim::Adam>(
        model_->Parameters(), optim::AdamOptions{.lr = config_.lr, .weight_decay = config_.weight_decay});
  } else {
    optimizer_ = std::make_unique<optim::Sgd>(
        model_->Parameters(), optim::SgdOptions{.lr = config_.lr, .momentum = config_.momentum,
                                                .weight_decay = config_.weight_decay});
  }
}

std::pair<double, int64_t> Trainer::Evaluate(const Dataset& data) {
  NoGradGuard no_grad;
  const bool was_training = model_->is_training();
  model_->Eval();
  const int64_t n = data.size(), chunk = 1000;
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  int64_t correct = 0;
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t m = std::min(chunk, n - start);
    Batch b = data.Get(idx.data() + start, m);
    correct += CountCorrect(model_->Forward(b.input), b.target);
  }
  model_->Train(was_training);
  return {n ? static_cast<double>(correct) / n : 0.0, correct};
}

io::TensorFile Trainer::Snapshot() const {
  io::TensorFile f;
  for (auto& [name, t] : model_->NamedParameters()) f.tensors.emplace_back(name, t);
  for (auto& [name, t] : optimizer_->StateTensors()) {
    f.tensors.emplace_back(kOptimPrefix + name, t);
  }
  f.metadata = extra_metadata_;
  f.metadata["format"] = "pt";  // safetensors' convention for PyTorch-loadable files
  f.metadata["mt.task"] = config_.task;
  f.metadata["mt.model"] = config_.model;
  f.metadata["mt.config"] = ToJson(config_);
  f.metadata["mt.epoch"] = std::to_string(completed_epochs_);
  f.metadata["mt.optimizer_steps"] = std::to_string(optimizer_->steps());
  f.metadata["mt.lr"] = absl::StrCat(optimizer_->lr());
  f.metadata["mt.rng.shuffle"] = shuffle_gen_.State();
  f.metadata["mt.rng.dropout"] = model_->dropout_generator().State();
  f.metadata["mt.best_valid_accuracy"] = absl::StrCat(best_valid_accuracy_);
  f.metadata["mt.best_epoch"] = std::to_string(best_epoch_);
  if (!last_epoch_metrics_.empty()) f.metadata["mt.epoch_metrics"] = last_epoch_metrics_;
  return f;
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
    std::memcpy(p.raw_data(), Contiguous(*t).raw_data(), p.numel() * ElementSize(p.dtype()));
  }
  return absl::OkStatus();
}

absl::Status Trainer::Restore(const std::string& path) {
  absl::StatusOr<io::TensorFile> file = io::ReadSafetensors(path);
  if (!file.ok()) return file.status();
  auto meta = [&](const std::string& k) {
    auto it = file->metadata.find(k);
    return it == file->metadata.end() ? std::string() : it->second;
  };
  if (meta("mt.task") != config_.task || meta("mt.model") != config_.model) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is a checkpoint of ", meta("mt.task"), "/", meta("mt.model"),
        ", not of this run's ", config_.task, "/", config_.model));
  }
  if (absl::Status s = LoadWeights(*file, model_); !s.ok()) return s;
  std::vector<std::pair<std::string, Tensor>> state;
  for (auto& [name, t] : file->tensors) {
    if (name.rfind(kOptimPrefix, 0) == 0) state.emplace_back(name.substr(strlen(kOptimPrefix)), t);
  }
  absl::StatusOr<int64_t> steps = MetaInt(*file, "mt.optimizer_steps");
  absl::StatusOr<int64_t> epoch = MetaInt(*file, "mt.epoch");
  absl::StatusOr<int64_t> best_epoch = MetaInt(*file, "mt.best_epoch");
  if (!steps.ok()) return steps.status();
  if (!epoch.ok()) return epoch.status();
  if (!best_epoch.ok()) return best_epoch.status();
  if (absl::Status s = optimizer_->LoadState(*steps, state); !s.ok()) return s;
  double lr, best;
  if (!absl::SimpleAtod(meta("mt.lr"), &lr) || !absl::SimpleAtod(meta("mt.best_valid_accuracy"), &best)) {
    return absl::DataLossError(absl::StrCat(path, ": checkpoint metadata mt.lr / mt.best_valid_accuracy is malformed"));
  }
  if (absl::Status s = shuffle_gen_.SetState(meta("mt.rng.shuffle")); !s.ok()) return s;
  if (absl::Status s = model_->dropout_generator().SetState(meta("mt.rng.dropout")); !s.ok()) return s;
  optimizer_->set_lr(lr);
  completed_epochs_ = *epoch;
  best_valid_accuracy_ = best;
  best_epoch_ = *best_epoch;
  return absl::OkStatus();
}

absl::StatusOr<TrainResult> Trainer::Run(TrainerCallback* callback,
                                         const std::atomic<bool>* cancel) {
  // The engine reports misuse by throwing mt::Error; this is the module boundary where it
  // becomes a Status.
  try {
    return RunEpochs(callback, cancel);
  } catch (const Error& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while training; try a smaller batch_size");
  }
}

absl::StatusOr<TrainResult> Trainer::RunEpochs(TrainerCallback* callback,
                                               const std::atomic<bool>* cancel) {
  if (config_.threads > 0) omp_set_num_threads(config_.threads);
  TrainResult result;
  const int64_t n = train_->size(), bs = config_.batch_size;
  if (n == 0) return absl::InvalidArgumentError("the training split is empty");
  const int64_t num_batches = (n + bs - 1) / bs;
  std::vector<int64_t> order(n);
  while (completed_epochs_ < config_.epochs) {
    const int64_t epoch = completed_epochs_ + 1;
    const auto start = std::chrono::steady_clock::now();
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[shuffle_gen_.Below(i + 1)]);
    model_->Train();
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t b = 0; b < num_batches; ++b) {
      if (cancel && cancel->load()) {
        result.cancelled = true;
        result.best_valid_accuracy = best_valid_accuracy_;
        result.best_epoch = best_epoch_;
        return result;
      }
      const int64_t m = std::min(bs, n - b * bs);
      Batch batch = train_->Get(order.data() + b * bs, m);
      optimizer_->ZeroGrad();
      Tensor log_probs = model_->Forward(batch.input);
      Tensor loss = NllLoss(log_probs, batch.target);
      loss.Backward();
      optimizer_->Step();
      loss_sum += loss.item();
      {
        NoGradGuard no_grad;
        correct += CountCorrect(log_probs, batch.target);
      }
      if (callback) callback->OnBatch({epoch, b + 1, num_batches, loss_sum / (b + 1)});
    }
    const double train_seconds = Seconds(start);
    EpochMetrics m;
    m.epoch = epoch;
    m.train_loss = loss_sum / num_batches;
    m.train_accuracy = static_cast<double>(correct) / n;
    m.lr = optimizer_->lr();
    auto [acc, valid_correct] = Evaluate(*valid_);
    m.valid_accuracy = acc;
    m.valid_correct = valid_correct;
    m.valid_total = valid_->size();
    m.seconds = Seconds(start);
    m.samples_per_second = n / std::max(train_seconds, 1e-9);
    completed_epochs_ = epoch;
    if (acc > best_valid_accuracy_ || best_epoch_ == 0) {
      best_valid_accuracy_ = acc;
      best_epoch_ = epoch;
    }
    optimizer_->set_lr(optimizer_->lr() * config_.lr_decay);
    last_epoch_metrics_ = EpochMetricsToJson(m);
    if (!checkpoint_dir_.empty()) {
      io::TensorFile snap = Snapshot();
      absl::Status s = io::WriteSafetensors(
          absl::StrCat(checkpoint_dir_, "/epoch-", epoch, ".safetensors"), snap);
      if (s.ok()) s = io::WriteSafetensors(absl::StrCat(checkpoint_dir_, "/latest.safetensors"), snap);
      if (!s.ok()) return s;
    }
    result.epochs.push_back(m);
    if (callback) callback->OnEpoch(m);
  }
  result.best_valid_accuracy = best_valid_accuracy_;
  result.best_epoch = best_epoch_;
  return result;
}

}  // namespace mt::train
