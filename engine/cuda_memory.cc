#include "engine/cuda_memory.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/cuda/runtime.h"
#include "engine/device_scope.h"
#include "engine/error.h"
#ifdef MT_WITH_CUDA
#include "kernels/cuda/scratch.h"
#endif

namespace mt {
namespace {

// Throws the engine's error for a failed runtime call: OutOfMemory for a full device, so that
// module boundaries report RESOURCE_EXHAUSTED (error.h).
void ThrowIfError(const absl::Status& s) {
  if (s.ok()) return;
  if (absl::IsResourceExhausted(s)) throw OutOfMemory(std::string(s.message()));
  throw DeviceError(std::string(s.message()));
}

class CudaAllocator : public Allocator {
 public:
  explicit CudaAllocator(int gpus) {
    for (int i = 0; i < gpus; ++i) {
      pools_.push_back(
          std::make_unique<cuda::DevicePool>(cuda::CudaDeviceMemory(i), absl::StrCat("cuda:", i)));
    }
  }

  void* Allocate(size_t nbytes) override { return AllocateOn(Device{Device::Type::kCUDA, 0}, nbytes); }
  void Free(void* ptr, size_t nbytes) override {
    FreeOn(Device{Device::Type::kCUDA, 0}, ptr, nbytes);
  }

  void* AllocateOn(Device device, size_t nbytes) override {
    ThrowIfError(cuda::CheckIndex(device.index));
    absl::StatusOr<void*> p = pools_[device.index]->Allocate(nbytes, CurrentStream(device));
    ThrowIfError(p.status());
    return *p;
  }

  void FreeOn(Device device, void* ptr, size_t /*nbytes*/) override {
    if (device.index >= 0 && device.index < static_cast<int>(pools_.size())) {
      pools_[device.index]->Free(ptr);
    }
  }

  void EmptyCache() override {
    for (auto& pool : pools_) (void)pool->EmptyCache();
  }

  // A block of any GPU's pool (each pool ignores pointers it does not own).
  void FreeAnywhere(void* ptr) {
    for (auto& pool : pools_) pool->Free(ptr);
  }

  cuda::DevicePool* pool(int index) {
    return index >= 0 && index < static_cast<int>(pools_.size()) ? pools_[index].get() : nullptr;
  }

 private:
  std::vector<std::unique_ptr<cuda::DevicePool>> pools_;
};

#ifdef MT_WITH_CUDA
// The CUDA kernels' temporaries (im2col columns, transposes, read-back slots) from the same
// pools as tensors: one cache per GPU, so that an out-of-memory retry releases all of it.
class PoolScratch : public kernels::cuda::ScratchAllocator {
 public:
  explicit PoolScratch(CudaAllocator* tensors) : tensors_(tensors) {}
  void* Allocate(size_t bytes, void* stream) override {
    absl::StatusOr<int> device = cuda::CurrentDevice();
    ThrowIfError(device.status());
    cuda::DevicePool* pool = tensors_->pool(*device);
    MT_CHECK(pool != nullptr, "no memory pool for cuda:", *device);
    absl::StatusOr<void*> p = pool->Allocate(bytes, stream);
    ThrowIfError(p.status());
    return *p;
  }
  // Kernels free on the stream they allocated on, which is where the pool returns the block.
  void Free(void* ptr, void* /*stream*/) override { tensors_->FreeAnywhere(ptr); }

 private:
  CudaAllocator* tensors_;
};
#endif  // MT_WITH_CUDA

CudaAllocator* TheAllocator() {
  static CudaAllocator* a = [] {
    CudaAllocator* made =
        cuda::GpuCount() > 0 ? new CudaAllocator(cuda::GpuCount()) : nullptr;  // never destroyed
#ifdef MT_WITH_CUDA
    if (made != nullptr) kernels::cuda::SetScratchAllocator(new PoolScratch(made));
#endif
    return made;
  }();
  return a;
}

}  // namespace

Allocator* CudaAllocatorIfPresent() { return TheAllocator(); }

cuda::DevicePoolStats CudaMemoryStats(int index) {
  CudaAllocator* a = TheAllocator();
  cuda::DevicePool* pool = a ? a->pool(index) : nullptr;
  return pool ? pool->stats() : cuda::DevicePoolStats{};
}

void RetireCudaStream(int index, void* stream) {
  CudaAllocator* a = TheAllocator();
  if (cuda::DevicePool* pool = a ? a->pool(index) : nullptr) pool->RetireStream(stream);
}

PinnedStagingBuffer::~PinnedStagingBuffer() {
  if (in_flight_) (void)cuda::EventSynchronize(event_);
  if (data_ != nullptr) (void)cuda::HostFreePinned(data_);
  (void)cuda::EventDestroy(event_);
}

void* PinnedStagingBuffer::Reserve(size_t nbytes) {
  if (in_flight_) {
    ThrowIfError(cuda::EventSynchronize(event_));
    in_flight_ = false;
  }
  if (nbytes > capacity_ || data_ == nullptr) {
    if (data_ != nullptr) ThrowIfError(cuda::HostFreePinned(data_));
    data_ = nullptr;
    capacity_ = 0;
    // Some headroom: batches of variable length (sentences) then rarely reallocate.
    const size_t want = nbytes + nbytes / 4 + 4096;
    absl::StatusOr<void*> p = cuda::HostAllocPinned(want);
    ThrowIfError(p.status());
    data_ = *p;
    capacity_ = want;
  }
  return data_;
}

void PinnedStagingBuffer::MarkInFlight(void* stream) {
  if (event_ == nullptr) {
    absl::StatusOr<void*> e = cuda::EventCreate();
    ThrowIfError(e.status());
    event_ = *e;
  }
  ThrowIfError(cuda::EventRecord(event_, stream));
  in_flight_ = true;
}

}  // namespace mt
