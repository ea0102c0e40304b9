// The device a thread's work runs on, and the stream (device queue) its kernels are ordered on,
// set per thread like the op thread count (threads.h): jobs training side by side in one
// process, each on its own std::thread and GPU stream, do not see each other's settings.
// Kernels get the stream in their kernels::Context (dispatch::ContextFor).
#ifndef MT_ENGINE_DEVICE_SCOPE_H_
#define MT_ENGINE_DEVICE_SCOPE_H_

#include "engine/tensor.h"

namespace mt {

// The stream kernels launched from the calling thread on `device` are ordered on: the one a
// ScopedDevice for that device made, else null (the device's default stream; nothing on the CPU).
void* CurrentStream(Device device);

// For the length of a scope (a training run, a prediction): on a CUDA device, makes it the
// calling thread's current device and gives the thread a new stream of its own; at the end,
// waits for the stream, hands its cached memory back to the device's pool and restores the
// previous setting. On the CPU (or another device without streams) it changes nothing.
// Throws mt::Error naming the device when it is not available.
class ScopedDevice {
 public:
  explicit ScopedDevice(Device device);
  ~ScopedDevice();
  ScopedDevice(const ScopedDevice&) = delete;
  ScopedDevice& operator=(const ScopedDevice&) = delete;

  Device device() const { return device_; }
  void* stream() const { return stream_; }
  // Waits until the stream has run everything queued on it; throws mt::Error (a device error
  // raised by an earlier kernel surfaces here).
  void Synchronize() const;

 private:
  Device device_;
  void* stream_ = nullptr;
  Device previous_device_;
  void* previous_stream_ = nullptr;
};

}  // namespace mt

#endif  // MT_ENGINE_DEVICE_SCOPE_H_
