#include "engine/train/data_parallel.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/error.h"
#include "engine/io/safetensors.h"

namespace mt::train {
namespace {

// Rank 0's checkpoint snapshot, encoded, broadcast and restored on every other rank: weights,
// optimiser state, epoch, learning rate and RNG states all start equal, whether the run is new
// or resumed (only rank 0 read the checkpoint).
absl::Status SyncStateFromRankZero(Trainer* trainer, dist::Communicator* comm) {
  std::string bytes;
  if (comm->rank() == 0) {
    absl::StatusOr<std::string> encoded = io::EncodeSafetensors(trainer->Snapshot());
    if (!encoded.ok()) return encoded.status();
    bytes = std::move(*encoded);
  }
  uint64_t size = bytes.size();
  if (absl::Status s = comm->Broadcast(&size, sizeof(size), 0); !s.ok()) return s;
  bytes.resize(size);
  if (absl::Status s = comm->Broadcast(bytes.data(), bytes.size(), 0); !s.ok()) return s;
  if (comm->rank() == 0) return absl::OkStatus();
  absl::StatusOr<io::TensorFile> file = io::DecodeSafetensors(bytes, "rank 0's training state");
  if (!file.ok()) return file.status();
  return trainer->RestoreFrom(*file, "rank 0's training state");
}

}  // namespace

absl::StatusOr<std::unique_ptr<DataParallel>> DataParallel::Attach(Trainer* trainer,
                                                                   models::Model* model,
                                                                   dist::Communicator* comm) {
  const int rank = comm->rank(), world = comm->size();
  const int64_t examples = trainer->sampler().size();
  if (examples % world != 0) {
    // Unequal shards would give ranks different batch counts: one rank would wait in an
    // all-reduce the others never start.
    return absl::InvalidArgumentError(absl::StrCat(
        "data-parallel training needs a training set that splits evenly over the ranks: ",
        examples, " examples over ", world, " ranks leaves ", examples % world,
        " over; use a multiple of ", world));
  }
  if (!model->is_flat()) {
    return absl::InvalidArgumentError(
        "data-parallel training needs the model's parameters flattened "
        "(nn::Module::FlattenParameters) so one buffer can be broadcast and all-reduced");
  }
  Tensor params = model->FlatParameters();
  if (!params.defined()) {
    return absl::InvalidArgumentError("data-parallel training supports float32 parameters only");
  }
  if (params.device() != Device::CPU()) {
    // The seam for device buffers: an NCCL communicator takes device pointers directly.
    return absl::InvalidArgumentError(absl::StrCat(
        "data-parallel training over this communicator needs parameters on the CPU, got ",
        params.device().ToString()));
  }
  // The shard first: restoring sets the sampler's state, which SetShard would reset.
  if (absl::Status s = trainer->SetShard(rank, world); !s.ok()) return s;
  trainer->SetValidShard(rank, world);
  if (absl::Status s = SyncStateFromRankZero(trainer, comm); !s.ok()) return s;

  auto state = std::make_shared<State>();
  // Hooks throw mt::Error on a failed collective: Trainer::Run turns it into its error, and
  // status() keeps the communicator's code.
  auto fail = [state](const absl::Status& s, const std::string& where) {
    if (state->status.ok()) {
      state->status = absl::Status(s.code(), absl::StrCat(where, ": ", s.message()));
    }
    throw Error(std::string(state->status.message()));
  };
  trainer->AddAfterBackwardHook([state, model, comm, fail](const StepContext& step) {
    // The optimiser steps with whatever is in this buffer after the hooks (nn.h), so averaging
    // it in place is the whole of the gradient exchange.
    Tensor grads = model->GatherGradients();
    absl::Status s =
        comm->AllReduceAverage(grads.data<float>(), static_cast<size_t>(grads.numel()));
    if (!s.ok()) fail(s, absl::StrCat("epoch ", step.epoch, " batch ", step.batch));
    ++state->steps;
  });
  trainer->AddAfterBatchHook([state, comm, fail](const BatchProgress& p) {
    float stop = state->requested != nullptr && state->requested->load() ? 1.0f : 0.0f;
    absl::Status s = comm->AllReduceSum(&stop, 1);
    if (!s.ok()) fail(s, absl::StrCat("epoch ", p.epoch, " batch ", p.batch, " (cancel check)"));
    if (stop > 0) state->agreed = true;
  });
  trainer->SetEpochCountsHook([comm, fail](EpochCounts* c) {
    // The last two entries agree on the confusion matrix's size: a rank whose validation shard
    // is empty (fewer held-out examples than ranks) has none, yet must make the same
    // all-reduce as the others, with zeros, or the ranks' collectives stop lining up.
    const double has_confusion = c->confusion.empty() ? 0.0 : 1.0;
    double sums[] = {c->loss_sum,       c->batches,        c->train_correct,
                     c->train_examples, c->valid_correct,  c->valid_examples,
                     c->samples_per_second, static_cast<double>(c->confusion.size()),
                     has_confusion};
    absl::Status s = comm->AllReduceSum(sums, sizeof(sums) / sizeof(sums[0]));
    if (!s.ok()) fail(s, "end of epoch (metrics)");
    const double size = sums[8] > 0 ? sums[7] / sums[8] : 0.0;
    if (size != std::floor(size) || (!c->confusion.empty() && size != c->confusion.size())) {
      fail(absl::InternalError(absl::StrCat("ranks' confusion matrices differ in size (this rank ",
                                            c->confusion.size(), ", mean ", size, ")")),
           "end of epoch (confusion matrix)");
    }
    if (size > 0) {
      c->confusion.resize(static_cast<size_t>(size), 0.0);
      s = comm->AllReduceSum(c->confusion.data(), c->confusion.size());
      if (!s.ok()) fail(s, "end of epoch (confusion matrix)");
    }
    double loss = c->valid_loss_sum;
    s = comm->AllReduceSum(&loss, 1);
    if (!s.ok()) fail(s, "end of epoch (validation loss)");
    c->loss_sum = sums[0];
    c->batches = sums[1];
    c->train_correct = sums[2];
    c->train_examples = sums[3];
    c->valid_correct = sums[4];
    c->valid_examples = sums[5];
    c->samples_per_second = sums[6];
    c->valid_loss_sum = loss;
  });
  return std::unique_ptr<DataParallel>(new DataParallel(std::move(state)));
}

}  // namespace mt::train
