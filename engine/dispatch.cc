#include "engine/dispatch.h"

#include "engine/allocator.h"
#include "engine/device_scope.h"
#include "engine/threads.h"

namespace mt::dispatch {

void EnsureBuiltinKernels() {
  // A function-local static: thread-safe once, and free of static-initialisation order issues
  // (ops may run from other translation units' static initialisers).
  static const bool registered = [] {
    RegisterCpuKernels();
    RegisterCudaRuntimeKernels();  // engine/backends/cuda_copy.cc: DeviceCopy
#ifdef MT_WITH_CUDA
    RegisterCudaKernels();  // engine/backends/cuda.cc, built only with CUDA
#endif
    return true;
  }();
  (void)registered;
}

Context ContextFor(Device device) {
  Context ctx;
  ctx.threads = device.type == Device::Type::kCPU ? ThreadCount() : 1;
  ctx.splits = device.type == Device::Type::kCPU ? SplitCount() : 1;
  ctx.stream = CurrentStream(device);
  return ctx;
}

}  // namespace mt::dispatch

namespace mt {

std::vector<Device> AvailableDevices() {
  std::vector<Device> devices;
  for (int i = 0; i < kMaxDeviceTypes; ++i) {
    const auto type = static_cast<Device::Type>(i);
    if (type == Device::Type::kTest) continue;  // a fake device, not one this build has
    if (GetAllocator(type) != nullptr) devices.push_back(Device{type, 0});
  }
  return devices;
}

}  // namespace mt
