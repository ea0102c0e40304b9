// The engine's side of GPU memory: the Allocator behind Tensor storage on cuda:N (one
// stream-aware caching pool per GPU, engine/cuda/device_pool.h) and reusable pinned host
// buffers for fast asynchronous uploads. Installed for Device::Type::kCUDA only when this build
// has CUDA and the machine has a GPU, so that AvailableDevices() lists cuda:0 exactly when
// tensors can live there. In builds with the CUDA kernels, their scratch memory
// (kernels/cuda/scratch.h) comes from the same pools, so one out-of-memory retry frees it all.
#ifndef MT_ENGINE_CUDA_MEMORY_H_
#define MT_ENGINE_CUDA_MEMORY_H_

#include <cstddef>
#include <cstdint>

#include "engine/allocator.h"
#include "engine/cuda/device_pool.h"

namespace mt {

// The allocator for kCUDA, or null when there is no usable GPU (CPU-only build, no driver).
// Created on first use; never destroyed (tensors in static storage may outlive main).
Allocator* CudaAllocatorIfPresent();

// The pool statistics of GPU `index` (all zero when it has no pool yet or does not exist).
cuda::DevicePoolStats CudaMemoryStats(int index);

// Called by ScopedDevice once `stream` of GPU `index` has been synchronised and before it is
// destroyed (see DevicePool::RetireStream).
void RetireCudaStream(int index, void* stream);

// A growable page-locked host buffer for uploads: Reserve() returns at least nbytes of pinned
// memory, waiting first until the last upload from it (MarkInFlight) has completed, so that
// the host never overwrites bytes a copy engine is still reading. Throws mt::Error without a GPU.
class PinnedStagingBuffer {
 public:
  PinnedStagingBuffer() = default;
  ~PinnedStagingBuffer();
  PinnedStagingBuffer(const PinnedStagingBuffer&) = delete;
  PinnedStagingBuffer& operator=(const PinnedStagingBuffer&) = delete;

  void* Reserve(size_t nbytes);
  // An asynchronous copy out of this buffer was queued on `stream`.
  void MarkInFlight(void* stream);
  size_t capacity() const { return capacity_; }

 private:
  void* data_ = nullptr;
  size_t capacity_ = 0;
  void* event_ = nullptr;  // recorded after the last copy out of data_
  bool in_flight_ = false;
};

}  // namespace mt

#endif  // MT_ENGINE_CUDA_MEMORY_H_
