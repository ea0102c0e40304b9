// For tests of code that must keep every tensor on a device other than the CPU (the trainer's
// device path, the daemon's GPU jobs) on machines without a GPU: Device::Type::kTest becomes
// "the CPU in disguise": host memory under the name test:0 and the CPU's kernels registered for
// it. Any tensor left behind on the CPU then fails the ops' same-device checks, exactly as it
// would on a GPU, and results equal the CPU's bit for bit (same kernels, one thread each).
#ifndef MT_ENGINE_HOST_DEVICE_TESTING_H_
#define MT_ENGINE_HOST_DEVICE_TESTING_H_

#include <atomic>
#include <cstdint>

#include "engine/tensor.h"

namespace mt::testing {

inline const Device kHostAsDevice{Device::Type::kTest, 0};

// Installs the disguise for its lifetime (one at a time); counts the device's allocations.
class ScopedHostAsDevice {
 public:
  ScopedHostAsDevice();
  ~ScopedHostAsDevice();
  ScopedHostAsDevice(const ScopedHostAsDevice&) = delete;
  ScopedHostAsDevice& operator=(const ScopedHostAsDevice&) = delete;
  int64_t allocations() const;
};

}  // namespace mt::testing

#endif  // MT_ENGINE_HOST_DEVICE_TESTING_H_
