#include "engine/train/trainer.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/autograd.h"
#include "engine/threads.h"
#include "engine/train/device_run.h"
#include "engine/train/replicas.h"

namespace mt::train {
namespace {

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

std::string Megabytes(uint64_t bytes) {
  return absl::StrFormat("%.1f MB", static_cast<double>(bytes) / 1e6);
}

}  // namespace

absl::Status CheckFreeSpace(const std::string& dir, uint64_t needed, const std::string& what) {
  struct statvfs fs;
  if (statvfs(dir.c_str(), &fs) != 0) {
    // Not knowing is no reason to stop; the write itself reports what is wrong.
    return absl::OkStatus();
  }
  // f_bavail: the blocks an unprivileged writer may use, in units of f_frsize.
  const uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (available >= needed) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "cannot write ", what, " to ", dir, ": no space left on device: it needs about ",
      Megabytes(needed), ", ", Megabytes(available), " available"));
}

Trainer::Trainer(const TrainConfig& config, models::Model* model, const Dataset* train,
                 const Dataset* valid)
    : config_(config),
      model_(model),
      train_(train),
      valid_(valid),
      sampler_(train->size(), config.seed) {
  if (config_.optimizer == "adam") {
    optimizer_ = std::make_unique<optim::Adam>(
        model_->Parameters(), optim::AdamOptions{.lr = config_.lr, .weight_decay = config_.weight_decay});
  } else {
    optimizer_ = std::make_unique<optim::Sgd>(
        model_->Parameters(), optim::SgdOptions{.lr = config_.lr, .momentum = config_.momentum,
                                                .weight_decay = config_.weight_decay});
  }
}

absl::Status Trainer::SetShard(int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(absl::StrCat("invalid shard: rank ", rank, " of ",
                                                   world_size, " (need 0 <= rank < world_size)"));
  }
  sampler_ = Sampler(train_->size(), config_.seed, rank, world_size);
  return absl::OkStatus();
}

std::pair<double, int64_t> Trainer::Evaluate(const Dataset& data) {
  const ValidationReport r = EvaluateReport(data);
  return {r.total ? static_cast<double>(r.correct) / r.total : 0.0, r.correct};
}

ValidationReport Trainer::EvaluateReport(const Dataset& data, int64_t first, int64_t step) {
  MT_CHECK(first >= 0 && step >= 1, "validation shard ", first, " of every ", step);
  NoGradGuard no_grad;
  const bool was_training = model_->is_training();
  model_->Eval();
  std::vector<int64_t> idx;
  for (int64_t i = first; i < data.size(); i += step) idx.push_back(i);
  const int64_t n = static_cast<int64_t>(idx.size()), chunk = 1000;
  ValidationReport r;
  r.total = n;
  double loss_sum = 0;  // in double: 10^4 terms of float log-probabilities
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t m = std::min(chunk, n - start);
    Batch b = data.Get(idx.data() + start, m);
    // The labels from the host batch: reading them back after the upload would cost a
    // device-to-host copy per chunk.
    const std::vector<int64_t> want = b.target.ToInt64Vector();
    if (device_run_) b = device_run_->Upload(b);
    // On the CPU the chunk splits over the cores as training steps do (the same values).
    const Tensor log_probs = replicas_ && !device_run_ && model_->SplitsInferenceBatches() &&
                                     m >= replicas_->count()
                                 ? replicas_->Forward(b.input, ThreadCount())
                                 : model_->Forward(b.input);
    // The same argmax as training accuracy, so ties break the same way.
    const std::vector<int64_t> pred = Argmax(log_probs, 1).ToInt64Vector();
    const std::vector<double> lp = log_probs.ToVector();
    const int64_t classes = log_probs.size(1);
    if (r.num_classes == 0) {
      r.num_classes = classes;
      r.confusion.assign(classes * classes, 0);
    }
    for (int64_t i = 0; i < m; ++i) {
      MT_CHECK(want[i] >= 0 && want[i] < classes && pred[i] >= 0 && pred[i] < classes,
               "label ", want[i], " or prediction ", pred[i], " outside the model's ", classes,
               " classes");
      loss_sum -= lp[i * classes + want[i]];
      ++r.confusion[want[i] * classes + pred[i]];
      if (pred[i] == want[i]) {
        ++r.correct;
      } else {
        ++r.misclassified_total;
        if (static_cast<int64_t>(r.misclassified.size()) < max_misclassified_) {
          r.misclassified.push_back({idx[start + i], want[i], pred[i]});
        }
      }
    }
  }
  model_->Train(was_training);
  r.loss = n ? loss_sum / n : 0.0;
  return r;
}

CheckpointMeta Trainer::Meta() const {
  CheckpointMeta meta;
  meta.extra = extra_metadata_;
  meta.task = config_.task;
  meta.model = config_.model;
  meta.config_json = ToJson(config_);
  meta.epoch = completed_epochs_;
  meta.optimizer_steps = optimizer_->steps();
  meta.lr = optimizer_->lr();
  meta.shuffle_rng = sampler_.State();
  meta.dropout_rng = model_->dropout_generator().State();
  meta.best_valid_accuracy = best_valid_accuracy_;
  meta.best_epoch = best_epoch_;
  meta.epoch_metrics = last_epoch_metrics_;
  return meta;
}

io::TensorFile Trainer::Snapshot() const { return MakeCheckpoint(*model_, *optimizer_, Meta()); }

absl::Status Trainer::Restore(const std::string& path) {
  absl::StatusOr<io::TensorFile> file = io::ReadSafetensors(path);
  if (!file.ok()) return file.status();
  return RestoreFrom(*file, path);
}

absl::Status Trainer::RestoreFrom(const io::TensorFile& checkpoint, const std::string& path) {
  const io::TensorFile* file = &checkpoint;
  CheckpointSummary summary = SummarizeCheckpoint(file->metadata);
  if (summary.task != config_.task || summary.model != config_.model) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is a checkpoint of ", summary.task, "/", summary.model, ", not of this run's ",
        config_.task, "/", config_.model));
  }
  // The weights are rewritten in place: replicas holding copies must copy them again.
  if (replicas_) replicas_->Invalidate();
  if (absl::Status s = LoadWeights(*file, model_); !s.ok()) return s;
  absl::StatusOr<CheckpointMeta> meta = ReadCheckpointMeta(*file, path);
  if (!meta.ok()) return meta.status();
  if (absl::Status s = LoadOptimizerState(*file, meta->optimizer_steps, optimizer_.get());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = sampler_.SetState(meta->shuffle_rng); !s.ok()) return s;
  if (absl::Status s = model_->dropout_generator().SetState(meta->dropout_rng); !s.ok()) return s;
  optimizer_->set_lr(meta->lr);
  completed_epochs_ = meta->epoch;
  best_valid_accuracy_ = meta->best_valid_accuracy;
  best_epoch_ = meta->best_epoch;
  return absl::OkStatus();
}

absl::StatusOr<TrainResult> Trainer::Run(TrainerCallback* callback,
                                         const std::atomic<bool>* cancel) {
  // The engine reports misuse by throwing mt::Error; this is the module boundary where it
  // becomes a Status.
  try {
    return RunEpochs(callback, cancel);
  } catch (const OutOfMemory& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat(e.what(), " while training; try a smaller batch_size"));
  } catch (const DeviceError& e) {
    return absl::InternalError(absl::StrCat(e.what(), " while training"));
  } catch (const Error& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while training; try a smaller batch_size");
  }
}

Trainer::~Trainer() = default;

void Trainer::TrainStep(const Batch& batch, const StepContext& where, double* loss_sum,
                        int64_t* correct) {
  optimizer_->ZeroGrad();
  if (replicas_ && batch.input.size(0) >= replicas_->count()) {
    Replicas::Result r;
    if (after_backward_.empty()) {
      // Nothing between backward and the step: each replica steps its own copy of the weights
      // on its own core.
      r = replicas_->ForwardBackwardStep(batch, ThreadCount(), optimizer_.get());
    } else {
      r = replicas_->ForwardBackward(batch, ThreadCount());
      const Tensor loss = Tensor::Scalar(r.loss);
      StepContext context = where;
      context.loss = &loss;
      for (const AfterBackwardHook& hook : after_backward_) hook(context);
      optimizer_->Step();
    }
    *loss_sum += r.loss;
    *correct += r.correct;
    return;
  }
  Tensor log_probs = model_->Forward(batch.input);
  Tensor loss = NllLoss(log_probs, batch.target);
  loss.Backward();
  if (!after_backward_.empty()) {
    StepContext context = where;
    context.loss = &loss;
    for (const AfterBackwardHook& hook : after_backward_) hook(context);
  }
  optimizer_->Step();
  *loss_sum += loss.item();
  NoGradGuard no_grad;
  if (device_run_) return device_run_->CountCorrect(log_probs, batch.target);
  *correct += CountCorrect(log_probs, batch.target);
}

absl::Status Trainer::WriteCheckpoint(int64_t epoch) const {
  io::TensorFile snap = Snapshot();
  // Checked first so that a full disk fails the run with a message naming the space needed,
  // rather than halfway through a file. Both files exist at once (the epoch's, then latest's
  // temporary file beside the previous latest), so twice the tensors' bytes, plus the metadata.
  uint64_t bytes = 0;
  for (const auto& [name, t] : snap.tensors) {
    bytes += static_cast<uint64_t>(t.numel()) * ElementSize(t.dtype()) + name.size() + 64;
  }
  for (const auto& [key, value] : snap.metadata) bytes += key.size() + value.size() + 8;
  if (absl::Status s = CheckFreeSpace(
          checkpoint_dir_, 2 * bytes,
          absl::StrCat("the checkpoint of epoch ", epoch, " (epoch-", epoch,
                       ".safetensors and latest.safetensors)"));
      !s.ok()) {
    return s;
  }
  absl::Status s =
      io::WriteSafetensors(absl::StrCat(checkpoint_dir_, "/epoch-", epoch, ".safetensors"), snap);
  if (s.ok()) s = io::WriteSafetensors(absl::StrCat(checkpoint_dir_, "/latest.safetensors"), snap);
  return s;
}

absl::StatusOr<TrainResult> Trainer::RunEpochs(TrainerCallback* callback,
                                               const std::atomic<bool>* cancel) {
  // Per calling thread: two jobs in one process each train with their own thread count.
  ScopedThreads threads_guard(config_.threads);
  std::unique_ptr<DeviceRun> device_run;
  if (device_ != Device::CPU()) {
    device_run = std::make_unique<DeviceRun>(device_, model_, optimizer_.get());
  }
  device_run_ = device_run.get();
  struct Forget {
    DeviceRun** p;
    ~Forget() { *p = nullptr; }
  } forget{&device_run_};
  // On the CPU a step splits its batch over the cores (engine/train/replicas.h); how many
  // pieces follows the job's thread setting, not the load, so results keep their bits.
  const int pieces = device_ == Device::CPU()
                         ? Replicas::PiecesFor(SplitCount(), config_.batch_size)
                         : 1;
  if (pieces < 2) {
    replicas_.reset();
  } else if (!replicas_ || replicas_->count() != pieces) {
    replicas_ = std::make_unique<Replicas>(model_, pieces);
  }
  TrainResult result;
  const int64_t n = sampler_.shard_size(), bs = config_.batch_size;
  if (train_->size() == 0) return absl::InvalidArgumentError("the training split is empty");
  const int64_t num_batches = (n + bs - 1) / bs;
  while (completed_epochs_ < config_.epochs) {
    const int64_t epoch = completed_epochs_ + 1;
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int64_t>& order = sampler_.NextEpoch();
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
      StepContext where;
      where.epoch = epoch;
      where.batch = b + 1;
      where.num_batches = num_batches;
      where.model = model_;
      where.optimizer = optimizer_.get();
      Batch batch = train_->Get(order.data() + b * bs, m);
      if (device_run_) batch = device_run_->Upload(batch);
      TrainStep(batch, where, &loss_sum, &correct);
      const BatchProgress progress{epoch, b + 1, num_batches, loss_sum / (b + 1)};
      for (const AfterBatchHook& hook : after_batch_) hook(progress);
      if (callback) callback->OnBatch(progress);
    }
    if (device_run_) correct = device_run_->TakeCorrect();
    const double train_seconds = Seconds(start);
    EpochCounts counts;
    counts.loss_sum = loss_sum;
    counts.batches = static_cast<double>(num_batches);
    counts.train_correct = static_cast<double>(correct);
    counts.train_examples = static_cast<double>(n);
    // This rank's shard of the validation; the counts hook adds the shards up (data parallel).
    last_validation_ = EvaluateReport(*valid_, valid_rank_, valid_world_);
    last_validation_.epoch = epoch;
    counts.valid_correct = static_cast<double>(last_validation_.correct);
    counts.valid_examples = static_cast<double>(last_validation_.total);
    counts.valid_loss_sum = last_validation_.loss * static_cast<double>(last_validation_.total);
    counts.confusion.assign(last_validation_.confusion.begin(), last_validation_.confusion.end());
    counts.samples_per_second = n / std::max(train_seconds, 1e-9);
    if (epoch_counts_) epoch_counts_(&counts);
    EpochMetrics m;
    m.epoch = epoch;
    m.train_loss = counts.loss_sum / counts.batches;
    m.train_accuracy = counts.train_correct / counts.train_examples;
    m.lr = optimizer_->lr();
    // Every rank's shard summed: the whole split's figures (misclassified stays this rank's).
    last_validation_.correct = static_cast<int64_t>(counts.valid_correct);
    last_validation_.total = static_cast<int64_t>(counts.valid_examples);
    last_validation_.loss =
        counts.valid_examples > 0 ? counts.valid_loss_sum / counts.valid_examples : 0.0;
    if (last_validation_.confusion.empty() && !counts.confusion.empty()) {
      // This rank's validation shard was empty; the other ranks' matrices arrived.
      last_validation_.num_classes =
          static_cast<int64_t>(std::lround(std::sqrt(counts.confusion.size())));
      last_validation_.confusion.resize(counts.confusion.size());
    }
    if (counts.confusion.size() == last_validation_.confusion.size()) {
      for (size_t k = 0; k < counts.confusion.size(); ++k) {
        last_validation_.confusion[k] = static_cast<int64_t>(counts.confusion[k]);
      }
    }
    const double acc =
        counts.valid_examples > 0 ? counts.valid_correct / counts.valid_examples : 0.0;
    m.valid_accuracy = acc;
    m.valid_correct = static_cast<int64_t>(counts.valid_correct);
    m.valid_loss = last_validation_.loss;
    m.valid_total = static_cast<int64_t>(counts.valid_examples);
    m.seconds = Seconds(start);
    m.samples_per_second = counts.samples_per_second;
    completed_epochs_ = epoch;
    if (acc > best_valid_accuracy_ || best_epoch_ == 0) {
      best_valid_accuracy_ = acc;
      best_epoch_ = epoch;
    }
    optimizer_->set_lr(optimizer_->lr() * config_.lr_decay);
    last_epoch_metrics_ = m;
    if (!checkpoint_dir_.empty()) {
      if (absl::Status s = WriteCheckpoint(epoch); !s.ok()) return s;
    }
    result.epochs.push_back(m);
    for (const AfterEpochHook& hook : after_epoch_) hook(m);
    if (callback) callback->OnEpoch(m);
  }
  result.best_valid_accuracy = best_valid_accuracy_;
  result.best_epoch = best_epoch_;
  return result;
}

}  // namespace mt::train
