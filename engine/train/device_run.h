// What training on a device other than the CPU adds to the trainer's loop, kept out of
// trainer.cc so that the CPU path there stays as it was:
//   - the thread's device scope (a stream of the job's own on a GPU, device_scope.h);
//   - the model (and any optimiser state already there, e.g. after a resume) moved to the device;
//   - each batch uploaded from a pinned staging buffer, asynchronously on the job's stream;
//   - the correct-prediction count kept on the device and read once per epoch, so that a step
//     waits for the device only to read its loss (and inside NllLoss, whose target-range check
//     reads one value back).
// On a device without streams (the tests' fake device) uploads are plain To() copies.
#ifndef MT_ENGINE_TRAIN_DEVICE_RUN_H_
#define MT_ENGINE_TRAIN_DEVICE_RUN_H_

#include <cstdint>
#include <memory>

#include "engine/cuda_memory.h"
#include "engine/device_scope.h"
#include "engine/models/models.h"
#include "engine/optim.h"
#include "engine/tensor.h"
#include "engine/train/dataset.h"

namespace mt::train {

// Parses "cpu" and "cuda:N"; InvalidArgument otherwise (whether cuda:N exists is checked when
// it is used).
absl::StatusOr<Device> ParseDevice(const std::string& name);

// "auto": the first GPU when this process has one, else the CPU.
Device AutoDevice();

class DeviceRun {
 public:
  // Moves `model` and `optimizer`'s state to `device` (throws mt::Error when it is unusable).
  DeviceRun(Device device, models::Model* model, optim::Optimizer* optimizer);
  ~DeviceRun();  // waits for the stream; the model stays on the device
  DeviceRun(const DeviceRun&) = delete;
  DeviceRun& operator=(const DeviceRun&) = delete;

  // The batch on the device (input and target), queued on the job's stream.
  Batch Upload(const Batch& host);
  // Adds the number of rows whose arg-max equals target to the device-side count (no sync).
  void CountCorrect(const Tensor& log_probs, const Tensor& target);
  // The count since the last call (one synchronisation), then resets it.
  int64_t TakeCorrect();

  Device device() const { return scope_.device(); }

 private:
  Tensor UploadOne(const Tensor& host, PinnedStagingBuffer* staging);

  ScopedDevice scope_;
  // Two per tensor, used in turn: the upload of batch b+1 may be queued while batch b's
  // buffer is still being read by the copy engine.
  PinnedStagingBuffer staging_[2][2];
  int turn_ = 0;
  Tensor correct_;  // float64 (0-dim) on the device
};

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_DEVICE_RUN_H_
