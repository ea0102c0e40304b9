// A caching allocator for one GPU's memory, aware of streams (the design of PyTorch's
// CUDACachingAllocator, much simplified). cudaMalloc and cudaFree synchronise the device and
// take tens of microseconds, so a training step, which asks for the same sizes every step, must
// not call them: freed blocks are kept in size buckets and handed out again.
//
// Streams: a block freed on the host may still be in use by kernels queued on the stream that
// allocated it. Handing it to the same stream is safe (stream order); to another stream it is
// not. So every block is tagged with the stream it was allocated for and goes back to that
// stream's free list. When a stream is retired (synchronised, then destroyed: a job ended), its
// blocks move to the shared list (stream null), which any stream may take from: every stream
// the runtime makes synchronises with the legacy default stream (runtime.h), so work queued on
// the default stream before the block was freed also completes before the next user's.
//
// Out of memory: the pool synchronises the device, gives every cached block back, retries once,
// then fails with ResourceExhausted naming the device, the size and what holds the memory.
// The device itself is behind DeviceMemory so that tests run the pool on host memory.
#ifndef MT_ENGINE_CUDA_DEVICE_POOL_H_
#define MT_ENGINE_CUDA_DEVICE_POOL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt::cuda {

// What the pool needs from a device.
class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  virtual absl::StatusOr<void*> Malloc(size_t nbytes) = 0;  // ResourceExhausted when full
  virtual void Free(void* ptr) = 0;
  // Waits until every stream of the device is idle (before cached blocks are given back).
  virtual absl::Status Synchronize() = 0;
  // Free and total bytes of the whole device (for error messages); may fail.
  virtual absl::StatusOr<std::pair<int64_t, int64_t>> FreeAndTotal() = 0;
};

// The real device (runtime.h); index = the GPU.
std::unique_ptr<DeviceMemory> CudaDeviceMemory(int index);

struct DevicePoolStats {
  int64_t allocations = 0;          // Allocate calls
  int64_t cache_hits = 0;           // ... served from a free list
  int64_t device_allocations = 0;   // ... that called Malloc (none in a warmed-up step)
  int64_t device_frees = 0;         // blocks given back to the device
  int64_t in_use_bytes = 0;         // handed out and not yet freed (bucket sizes)
  int64_t cached_bytes = 0;         // held in free lists
  int64_t peak_in_use_bytes = 0;
  int64_t out_of_memory = 0;        // Allocate calls that failed
};

class DevicePool {
 public:
  // `name` ("cuda:0") is what error messages call the device.
  DevicePool(std::unique_ptr<DeviceMemory> device, std::string name);
  ~DevicePool();  // gives every cached block back (blocks in use are the owners' to free)
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;

  // A block of at least nbytes for work ordered on `stream` (null: the default stream).
  absl::StatusOr<void*> Allocate(size_t nbytes, void* stream);
  // Returns a block from Allocate (any thread). Unknown pointers are ignored and counted in
  // no stat: freeing twice is the caller's bug, not a reason to corrupt the lists.
  void Free(void* ptr);
  // `stream` will be destroyed: the caller has synchronised it. Its cached blocks, and its
  // blocks still in use once they are freed, go to the shared list.
  void RetireStream(void* stream);
  // Synchronises the device and gives every cached block back.
  absl::Status EmptyCache();
  DevicePoolStats stats() const;
  const std::string& name() const { return name_; }

  // The size class of a request: 512-byte steps up to 1 MiB, then four classes per power of
  // two (at most 25% slack), so that slightly varying sizes share blocks.
  static size_t BucketSize(size_t nbytes);

 private:
  struct Block {
    size_t bucket;
    void* stream;
  };
  void* TakeCachedLocked(size_t bucket, void* stream);
  void ReleaseCachedLocked();
  std::string DescribeLocked(size_t nbytes);

  std::unique_ptr<DeviceMemory> device_;
  const std::string name_;
  mutable std::mutex mu_;
  std::unordered_map<void*, Block> in_use_;
  // (stream, bucket) -> blocks; stream null = shared.
  std::map<std::pair<void*, size_t>, std::vector<void*>> free_;
  DevicePoolStats stats_;
};

}  // namespace mt::cuda

#endif  // MT_ENGINE_CUDA_DEVICE_POOL_H_
