// Data-parallel training on top of the Trainer's hooks and a dist::Communicator: every rank
// holds the whole model, trains on its shard of every global batch, and averages the flat
// gradient buffer across ranks after backward, so every rank steps identically.
//
// What holds (see data_parallel_test.cc): W ranks with config.batch_size = b, started from rank
// 0's parameters, take exactly the same examples per step as one process with batch W * b and the
// same seed: the Sampler gives rank r positions r, r + W, r + 2W, ... of the one seeded
// permutation, so local batch k of all ranks together is positions [k*W*b, (k+1)*W*b), global
// batch k. The average of the W local mean-gradients equals the global mean-gradient exactly in
// real arithmetic when every local batch has the same size, which needs the training set size
// to be a multiple of W (then every rank's last, partial batch has the same size too; Attach
// rejects other sizes). In floats the sums run in another order, so parameters agree to
// rounding, not bitwise; every rank ends with the same bits as every other (the all-reduce hands
// each rank the same sum and the optimiser is deterministic). Models with dropout draw
// different masks per rank, so for them only the expectation matches.
//
// Metrics: each rank validates its shard of the held-out split (examples rank, rank + W, ...)
// and the ranks add up their epoch counts (EpochCounts: losses, correct predictions, examples,
// throughput), so every rank's EpochMetrics are the whole job's and the correct counts are
// exact. Only rank 0 should write checkpoints and report (the caller's choice: set the
// checkpoint folder on rank 0 alone).
//
// Cancellation: a rank that stops alone would leave the others waiting in a collective, so
// after every batch the ranks add up their cancel requests (ShareCancel) and all stop at the
// same batch.
#ifndef MT_ENGINE_TRAIN_DATA_PARALLEL_H_
#define MT_ENGINE_TRAIN_DATA_PARALLEL_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/dist/communicator.h"
#include "engine/models/models.h"
#include "engine/train/trainer.h"

namespace mt::train {

class DataParallel {
 public:
  // Makes `trainer` (built over `model`, not yet run, restored on rank 0 if resuming) train as
  // rank comm->rank() of comm->size(): sets the trainer's training and validation shards, sends
  // rank 0's whole training state (weights, optimiser state, epoch, RNG states: its checkpoint
  // snapshot) to every other rank, which restores it, so only rank 0 needs to read a checkpoint
  // to resume; adds an after-backward hook that all-reduce-averages the model's flat gradient
  // buffer, an after-batch hook that agrees on cancellation, and an epoch-counts hook that sums
  // the ranks' metrics. Collective: every rank calls it, in the same order relative to other
  // collectives. `comm` must outlive the trainer's runs. A world of one changes nothing (the
  // collectives are the identity), so results stay bit-identical to a plain run.
  // InvalidArgument when the training set does not split evenly over the ranks or the model's
  // parameters are not flat float32 on the CPU; the communicator's error when the broadcast fails.
  static absl::StatusOr<std::unique_ptr<DataParallel>> Attach(Trainer* trainer,
                                                              models::Model* model,
                                                              dist::Communicator* comm);

  // OK, or the first failed gradient all-reduce (UNAVAILABLE or DEADLINE_EXCEEDED, naming the
  // ranks). The hook turns that failure into an mt::Error, so Trainer::Run returns an error with
  // the same message (as InvalidArgument, the code it gives every engine error); look here for
  // the real code.
  absl::Status status() const { return state_->status; }
  // Gradient all-reduces completed so far.
  int64_t steps() const { return state_->steps; }

  // Pass the result to Trainer::Run as its cancel flag: it turns true on every rank after the
  // first batch at whose end any rank's `requested` was true. `requested` (may be null: never)
  // must outlive the run.
  const std::atomic<bool>* ShareCancel(const std::atomic<bool>* requested) {
    state_->requested = requested;
    return &state_->agreed;
  }

 private:
  struct State {
    absl::Status status;
    int64_t steps = 0;
    const std::atomic<bool>* requested = nullptr;
    std::atomic<bool> agreed{false};
  };
  explicit DataParallel(std::shared_ptr<State> state) : state_(std::move(state)) {}

  // Shared with the hook, which the trainer may keep after this object is gone.
  std::shared_ptr<State> state_;
};

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_DATA_PARALLEL_H_
