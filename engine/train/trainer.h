// The training loop: seeded shuffling (Sampler), mini-batches, per-epoch metrics on the full
// held-out split, hooks (after backward, after each batch, after each epoch) for gradient
// communication and live publishing, cooperative cancellation between batches, and a
// checkpoint per epoch (checkpoint.h: weights + optimiser state + epoch + RNG states) that a
// later run resumes from at the next epoch, with the same results as an uninterrupted run (same seed and threads).
#ifndef MT_ENGINE_TRAIN_TRAINER_H_
#define MT_ENGINE_TRAIN_TRAINER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/io/safetensors.h"
#include "engine/models/models.h"
#include "engine/optim.h"
#include "engine/train/checkpoint.h"
#include "engine/train/config.h"
#include "engine/train/datasets.h"
#include "engine/train/metrics.h"
#include "engine/train/sampler.h"

namespace mt::train {

// What an after-backward hook sees: the batch's gradients are in the parameters' .grad (and
// the model's flat gradient, see nn::Module::GatherGradients), the optimiser has not stepped yet.
// A hook may change the gradients (e.g. average them across data-parallel ranks).
class DeviceRun;  // device_run.h
class Replicas;   // replicas.h

struct StepContext {
  int64_t epoch = 0, batch = 0, num_batches = 0;  // batch is 1-based
  models::Model* model = nullptr;
  optim::Optimizer* optimizer = nullptr;
  // The batch's mean loss (0-dim). When the step split the batch over the cores
  // (replicas.h) it is a detached scalar: backward has already run, piece by piece.
  const Tensor* loss = nullptr;
};

using AfterBackwardHook = std::function<void(const StepContext&)>;
using AfterBatchHook = std::function<void(const BatchProgress&)>;
// Called after the epoch's checkpoint is durable (when checkpointing is on).
using AfterEpochHook = std::function<void(const EpochMetrics&)>;

// An epoch's sums on this rank, before they become its EpochMetrics: what data-parallel ranks
// add up so that every rank (and rank 0's checkpoint and report) sees the whole job's figures.
struct EpochCounts {
  double loss_sum = 0;  // sum of the batches' mean losses
  double batches = 0;
  double train_correct = 0, train_examples = 0;
  double valid_correct = 0, valid_examples = 0;  // over this rank's validation shard
  double valid_loss_sum = 0;                     // sum of the shard's per-example losses
  std::vector<double> confusion;                 // the shard's confusion matrix (label x pred)
  double samples_per_second = 0;                 // this rank's training throughput
};
// Called once per epoch on every rank, after validation and before the metrics are used
// (best epoch, checkpoint, hooks); may replace the counts by their sums over ranks.
using EpochCountsHook = std::function<void(EpochCounts*)>;

// The callback interface the daemon implements; Run(callback) calls it after the hooks.
class TrainerCallback {
 public:
  virtual ~TrainerCallback() = default;
  virtual void OnBatch(const BatchProgress&) {}
  // Called after the epoch's checkpoint is durable (when checkpointing is on).
  virtual void OnEpoch(const EpochMetrics&) {}
};

// OK when the file system holding `dir` has at least `needed` bytes free for an unprivileged
// writer (or when that cannot be told); otherwise ResourceExhausted "cannot write <what> to
// <dir>: no space left on device: it needs about X MB, Y MB available".
absl::Status CheckFreeSpace(const std::string& dir, uint64_t needed, const std::string& what);

struct TrainResult {
  std::vector<EpochMetrics> epochs;  // epochs run by this call
  double best_valid_accuracy = 0;    // over every epoch, including those before a resume
  int64_t best_epoch = 0;
  bool cancelled = false;  // stopped between batches; the partial epoch left no checkpoint
};

class Trainer {
 public:
  // `model` and the datasets must outlive the trainer.
  Trainer(const TrainConfig& config, models::Model* model, const Dataset* train,
          const Dataset* valid);
  ~Trainer();

  // Writes `<dir>/epoch-<N>.safetensors` and `<dir>/latest.safetensors` after every epoch.
  void set_checkpoint_dir(const std::string& dir) { checkpoint_dir_ = dir; }
  // Trains on `device` (default: the CPU): Run moves the model there and keeps the step there
  // (device_run.h). The model stays on the device after Run.
  void set_device(Device device) { device_ = device; }
  // Extra metadata stored in every checkpoint (e.g. the vocabulary as mt.vocab).
  void set_extra_metadata(std::map<std::string, std::string> m) { extra_metadata_ = std::move(m); }

  // Hooks, called in the order they were added (before Run's callback). Several may be added.
  void AddAfterBackwardHook(AfterBackwardHook hook) { after_backward_.push_back(std::move(hook)); }
  void AddAfterBatchHook(AfterBatchHook hook) { after_batch_.push_back(std::move(hook)); }
  void AddAfterEpochHook(AfterEpochHook hook) { after_epoch_.push_back(std::move(hook)); }

  // Trains on this rank's share of every epoch (Sampler): rank in [0, world_size). Call before
  // Run and Restore. The default is rank 0 of 1: every example. Shards differ in size by at
  // most one example, so ranks may run different batch counts; a data-parallel caller that
  // needs equal counts chooses sizes that divide evenly. InvalidArgument for a bad rank.
  absl::Status SetShard(int rank, int world_size);
  // Validates only examples rank, rank + world_size, ... of the held-out split at the end of
  // each epoch (an EpochCountsHook then adds the ranks' counts up). Default: every example.
  void SetValidShard(int rank, int world_size) {
    valid_rank_ = rank;
    valid_world_ = world_size;
  }
  void SetEpochCountsHook(EpochCountsHook hook) { epoch_counts_ = std::move(hook); }

  // Continues from a checkpoint written by this trainer's configuration: the next Run starts
  // at the epoch after the checkpoint's.
  absl::Status Restore(const std::string& checkpoint_path);
  // The same from a checkpoint already in memory (e.g. rank 0's state sent to the other ranks);
  // `origin` names it in errors.
  absl::Status RestoreFrom(const io::TensorFile& checkpoint, const std::string& origin);

  absl::StatusOr<TrainResult> Run(TrainerCallback* callback = nullptr,
                                  const std::atomic<bool>* cancel = nullptr);

  // Accuracy (fraction) and correct count on a dataset, eval mode, no graph.
  std::pair<double, int64_t> Evaluate(const Dataset& data);
  // The same pass, also measuring the mean loss, the confusion matrix and the first
  // misclassified examples (at most max_misclassified()), over examples first, first + step, ...
  // of `data` (a data-parallel rank's shard; default: every example).
  ValidationReport EvaluateReport(const Dataset& data, int64_t first = 0, int64_t step = 1);

  // How many misclassified examples a ValidationReport lists (the first by index); default 64.
  void set_max_misclassified(int64_t n) { max_misclassified_ = n; }
  int64_t max_misclassified() const { return max_misclassified_; }
  // The newest epoch's validation (epoch 0 before the first); after-epoch hooks and callbacks
  // see the epoch they are called for. Under data parallelism its counts, loss and confusion
  // matrix are every rank's summed; its misclassified list is this rank's shard's.
  const ValidationReport& last_validation() const { return last_validation_; }

  int64_t completed_epochs() const { return completed_epochs_; }
  const Sampler& sampler() const { return sampler_; }
  // The checkpoint contents for the current state (also what ExportModel writes, minus state).
  io::TensorFile Snapshot() const;

 private:
  absl::StatusOr<TrainResult> RunEpochs(TrainerCallback* callback,
                                        const std::atomic<bool>* cancel);
  // One optimiser step on `batch`; adds its loss and correct count to the epoch's sums.
  void TrainStep(const Batch& batch, const StepContext& where, double* loss_sum,
                 int64_t* correct);
  absl::Status WriteCheckpoint(int64_t epoch) const;
  CheckpointMeta Meta() const;

  TrainConfig config_;
  models::Model* model_;
  const Dataset* train_;
  const Dataset* valid_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  Sampler sampler_;
  int64_t completed_epochs_ = 0;
  double best_valid_accuracy_ = 0;
  int64_t best_epoch_ = 0;
  std::string checkpoint_dir_;
  std::map<std::string, std::string> extra_metadata_;
  std::optional<EpochMetrics> last_epoch_metrics_;  // the newest finished epoch, for Snapshot()
  std::vector<AfterBackwardHook> after_backward_;
  std::vector<AfterBatchHook> after_batch_;
  std::vector<AfterEpochHook> after_epoch_;
  int64_t max_misclassified_ = 64;
  ValidationReport last_validation_;
  int valid_rank_ = 0, valid_world_ = 1;
  EpochCountsHook epoch_counts_;
  Device device_;
  DeviceRun* device_run_ = nullptr;  // during Run on a device other than the CPU
  std::unique_ptr<Replicas> replicas_;  // on the CPU with more than one thread
};

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_TRAINER_H_
