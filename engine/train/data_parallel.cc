#include "engine/train/data_parallel.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/error.h"

namespace mt::train {

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
  if (absl::Status s = comm->Broadcast(params.data<float>(), static_cast<size_t>(params.numel()), 0);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = trainer->SetShard(rank, world); !s.ok()) return s;

  auto state = std::make_shared<State>();
  trainer->AddAfterBackwardHook([state, model, comm](const StepContext& step) {
    // The optimiser steps with whatever is in this buffer after the hooks (nn.h), so averaging
    // it in place is the whole of the gradient exchange.
    Tensor grads = model->GatherGradients();
    absl::Status s =
        comm->AllReduceAverage(grads.data<float>(), static_cast<size_t>(grads.numel()));
    if (!s.ok()) {
      if (state->status.ok()) {
        state->status = absl::Status(
            s.code(), absl::StrCat("epoch ", step.epoch, " batch ", step.batch, ": ", s.message()));
      }
      throw Error(std::string(state->status.message()));
    }
    ++state->steps;
  });
  return std::unique_ptr<DataParallel>(new DataParallel(std::move(state)));
}

}  // namespace mt::train
