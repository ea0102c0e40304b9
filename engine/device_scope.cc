#include "engine/device_scope.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/cuda/runtime.h"
#include "engine/cuda_memory.h"
#include "engine/error.h"

namespace mt {
namespace {
thread_local Device t_device;          // the device of t_stream
thread_local void* t_stream = nullptr;
}  // namespace

void* CurrentStream(Device device) { return device == t_device ? t_stream : nullptr; }

ScopedDevice::ScopedDevice(Device device)
    : device_(device), previous_device_(t_device), previous_stream_(t_stream) {
  if (device.type != Device::Type::kCUDA) return;
  absl::Status s = cuda::SetDevice(device.index);
  absl::StatusOr<void*> stream = s.ok() ? cuda::StreamCreate(device.index) : s;
  MT_CHECK(stream.ok(), "cannot use ", device.ToString(), ": ", stream.status().message());
  stream_ = *stream;
  t_device = device;
  t_stream = stream_;
}

ScopedDevice::~ScopedDevice() {
  if (stream_ != nullptr) {
    // A device error here was (or will be) reported by the work itself; the stream must go
    // either way. Its blocks are only reusable by others once it has finished.
    (void)cuda::StreamSynchronize(stream_);
    RetireCudaStream(device_.index, stream_);
    (void)cuda::StreamDestroy(stream_);
  }
  t_device = previous_device_;
  t_stream = previous_stream_;
  if (device_.type == Device::Type::kCUDA && previous_device_.type == Device::Type::kCUDA &&
      previous_device_.index != device_.index) {
    (void)cuda::SetDevice(previous_device_.index);
  }
}

void ScopedDevice::Synchronize() const {
  if (stream_ == nullptr) return;
  absl::Status s = cuda::StreamSynchronize(stream_);
  if (!s.ok()) throw DeviceError(absl::StrCat(device_.ToString(), " failed: ", s.message()));
}

}  // namespace mt
