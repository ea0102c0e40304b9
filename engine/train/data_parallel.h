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
// Not done here (issue 11): the per-rank metrics in Trainer::Run's results are this rank's
// (train loss and accuracy over its shard; validation over the whole held-out split on every
// rank); only rank 0 should write checkpoints and report.
#ifndef MT_ENGINE_TRAIN_DATA_PARALLEL_H_
#define MT_ENGINE_TRAIN_DATA_PARALLEL_H_

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
  // Makes `trainer` (built over `model`, not yet run) train as rank comm->rank() of
  // comm->size(): broadcasts rank 0's flat parameters into every rank's model, sets the
  // trainer's shard and adds an after-backward hook that all-reduce-averages the model's flat
  // gradient buffer. Collective: every rank calls it, in the same order relative to other
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

 private:
  struct State {
    absl::Status status;
    int64_t steps = 0;
  };
  explicit DataParallel(std::shared_ptr<State> state) : state_(std::move(state)) {}

  // Shared with the hook, which the trainer may keep after this object is gone.
  std::shared_ptr<State> state_;
};

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_DATA_PARALLEL_H_
