// The training loop: seeded shuffling, mini-batches, per-epoch metrics on the full held-out
// split, callbacks for live publishing, cooperative cancellation between batches, and a
// checkpoint per epoch (weights + optimiser state + epoch + RNG states) that a later run resumes
// from at the next epoch, with the same results as an uninterrupted run (same seed and threads).
#ifndef MT_ENGINE_TRAIN_TRAINER_H_
#define MT_ENGINE_TRAIN_TRAINER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/io/safetensors.h"
#include "engine/models/models.h"
#include "engine/optim.h"
#include "engine/random.h"
#include "engine/train/config.h"
#include "engine/train/datasets.h"

namespace mt::train {

struct EpochMetrics {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0;      // mean over the epoch's batches
  double train_accuracy = 0;  // fraction, in training mode (dropout on), as PyTorch logs do
  double valid_accuracy = 0;  // fraction, eval mode, full held-out split
  int64_t valid_correct = 0, valid_total = 0;
  double seconds = 0;           // training + evaluation wall time
  double samples_per_second = 0;  // training samples / training seconds
  double lr = 0;
};

// The metrics as JSON (stored in each checkpoint's "mt.epoch_metrics", so the epoch's record
// survives even if the process dies before anyone else wrote it down).
std::string EpochMetricsToJson(const EpochMetrics& m);
absl::StatusOr<EpochMetrics> EpochMetricsFromJson(const std::string& json);

struct BatchProgress {
  int64_t epoch = 0, batch = 0, num_batches = 0;  // batch is 1-based
  double mean_loss = 0;  // over this epoch's batches so far
};

class TrainerCallback {
 public:
  virtual ~TrainerCallback() = default;
  virtual void OnBatch(const BatchProgress&) {}
  // Called after the epoch's checkpoint is durable (when checkpointing is on).
  virtual void OnEpoch(const EpochMetrics&) {}
};

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

  // Writes `<dir>/epoch-<N>.safetensors` and `<dir>/latest.safetensors` after every epoch.
  void set_checkpoint_dir(const std::string& dir) { checkpoint_dir_ = dir; }
  // Extra metadata stored in every checkpoint (e.g. the vocabulary).
  void set_extra_metadata(std::map<std::string, std::string> m) { extra_metadata_ = std::move(m); }

  // Continues from a checkpoint written by this trainer's configuration: the next Run starts
  // at the epoch after the checkpoint's.
  absl::Status Restore(const std::string& checkpoint_path);

  absl::StatusOr<TrainResult> Run(TrainerCallback* callback = nullptr,
                                  const std::atomic<bool>* cancel = nullptr);

  // Accuracy (fraction) and correct count on a dataset, eval mode, no graph.
  std::pair<double, int64_t> Evaluate(const Dataset& data);

  int64_t completed_epochs() const { return completed_epochs_; }
  // The checkpoint contents for the current state (also what ExportModel writes, minus state).
  io::TensorFile Snapshot() const;

 private:
  absl::StatusOr<TrainResult> RunEpochs(TrainerCallback* callback,
                                        const std::atomic<bool>* cancel);

  TrainConfig config_;
  models::Model* model_;
  const Dataset* train_;
  const Dataset* valid_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  Generator shuffle_gen_;
  int64_t completed_epochs_ = 0;
  double best_valid_accuracy_ = 0;
  int64_t best_epoch_ = 0;
  std::string checkpoint_dir_;
  std::map<std::string, std::string> extra_metadata_;
  std::string last_epoch_metrics_;  // JSON of the newest finished epoch, for Snapshot()
};

// Loads a checkpoint's weights (by dotted name) into a model; extra or missing names are errors.
absl::Status LoadWeights(const io::TensorFile& file, models::Model* model);

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_TRAINER_H_
