#include "engine/train/device_run.h"

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/autograd.h"
#include "engine/cuda/runtime.h"
#include "engine/ops.h"

namespace mt::train {

absl::StatusOr<Device> ParseDevice(const std::string& name) {
  if (name == "cpu") return Device::CPU();
  const std::string prefix = "cuda:";
  const std::string digits = name.size() > prefix.size() ? name.substr(prefix.size()) : "";
  int index = 0;
  if (name.rfind(prefix, 0) == 0 && !digits.empty() && digits.size() <= 6 &&
      digits.find_first_not_of("0123456789") == std::string::npos &&
      absl::SimpleAtoi(digits, &index)) {
    return Device{Device::Type::kCUDA, index};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid device '", name.substr(0, 32), name.size() > 32 ? "…" : "",
                   "': must be auto, cpu or cuda:N"));
}

Device AutoDevice() {
  // The GPU with the most free memory: on a shared machine, the one least in use.
  int best = -1;
  int64_t best_free = -1;
  for (int i = 0; i < cuda::GpuCount(); ++i) {
    absl::StatusOr<cuda::GpuMemoryInfo> m = cuda::MemoryInfo(i);
    if (m.ok() && m->free_bytes > best_free) {
      best = i;
      best_free = m->free_bytes;
    }
  }
  return best >= 0 ? Device{Device::Type::kCUDA, best} : Device::CPU();
}

DeviceRun::DeviceRun(Device device, models::Model* model, optim::Optimizer* optimizer)
    : scope_(device) {
  model->MoveTo(device);
  // Optimiser state restored from a checkpoint lives on the host: move it along.
  std::vector<std::pair<std::string, Tensor>> state = optimizer->StateTensors();
  bool moved = false;
  for (auto& [name, t] : state) {
    if (t.device() != device) {
      t = t.Detach().To(device);
      moved = true;
    }
  }
  if (moved) {
    absl::Status s = optimizer->LoadState(optimizer->steps(), state);
    MT_CHECK(s.ok(), "moving the optimiser state to ", device.ToString(), ": ", s.message());
  }
  correct_ = Tensor::Zeros({}, DType::kFloat64, device);
}

DeviceRun::~DeviceRun() {
  try {
    scope_.Synchronize();
  } catch (const Error&) {
    // The run has already failed (or is failing) with this error; nothing to add.
  }
}

Tensor DeviceRun::UploadOne(const Tensor& host, PinnedStagingBuffer* staging) {
  if (host.device() == device()) return host;
  if (device().type != Device::Type::kCUDA || host.device() != Device::CPU()) {
    return host.Detach().To(device());
  }
  const Tensor dense = Contiguous(host.Detach());
  const size_t nbytes = static_cast<size_t>(dense.numel()) * ElementSize(dense.dtype());
  Tensor out = Tensor::Empty(dense.shape(), dense.dtype(), device());
  if (nbytes == 0) return out;
  void* pinned = staging->Reserve(nbytes);
  std::memcpy(pinned, dense.raw_data(), nbytes);
  absl::Status s = cuda::MemcpyAsync(out.raw_data(), pinned, nbytes, scope_.stream());
  if (!s.ok()) {
    throw DeviceError(absl::StrCat("uploading a batch to ", device().ToString(), ": ", s.message()));
  }
  staging->MarkInFlight(scope_.stream());
  return out;
}

Batch DeviceRun::Upload(const Batch& host) {
  PinnedStagingBuffer* slot = staging_[turn_];
  turn_ ^= 1;
  return Batch{UploadOne(host.input, &slot[0]), UploadOne(host.target, &slot[1])};
}

void DeviceRun::CountCorrect(const Tensor& log_probs, const Tensor& target) {
  NoGradGuard no_grad;
  const Tensor hits = Eq(ToDType(Argmax(log_probs, 1), DType::kFloat64),
                         ToDType(target, DType::kFloat64));
  correct_ = correct_ + Sum(hits);
}

int64_t DeviceRun::TakeCorrect() {
  const int64_t n = static_cast<int64_t>(correct_.item());  // the epoch's synchronisation
  correct_ = Tensor::Zeros({}, DType::kFloat64, device());
  return n;
}

}  // namespace mt::train
