#include "engine/allocator.h"

#include <array>
#include <atomic>
#include <cstdlib>

#include "engine/cuda_memory.h"
#include "engine/error.h"

namespace mt {

void* AlignedCpuAllocator::Allocate(size_t nbytes) {
  // aligned_alloc needs a multiple of the alignment, and a 0-byte tensor still needs a valid
  // pointer.
  size_t rounded = ((nbytes + 63) / 64) * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw OutOfMemory(absl::StrCat("out of memory allocating ", nbytes, " bytes"));
  return p;
}

void AlignedCpuAllocator::Free(void* ptr, size_t /*nbytes*/) { std::free(ptr); }

CachingAllocator::CachingAllocator(std::unique_ptr<Allocator> backend, size_t max_cached_bytes)
    : backend_(std::move(backend)), max_cached_bytes_(max_cached_bytes) {}

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mu_);
  EmptyCacheLocked();
}

size_t CachingAllocator::BucketSize(size_t nbytes) {
  // Up to 4 KiB: whole cache lines. Above: four classes per power of two (at most 25% slack),
  // so that requests whose sizes vary a little from step to step (sentences of different
  // lengths) share blocks instead of each size hoarding its own.
  if (nbytes <= 4096) return nbytes == 0 ? 64 : (nbytes + 63) / 64 * 64;
  int log2 = 63 - __builtin_clzll(static_cast<unsigned long long>(nbytes));
  const size_t step = size_t{1} << (log2 - 2);
  return (nbytes + step - 1) / step * step;
}

void* CachingAllocator::Allocate(size_t nbytes) {
  const size_t bucket = BucketSize(nbytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.allocations;
    auto it = free_blocks_.find(bucket);
    if (it != free_blocks_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      ++stats_.cache_hits;
      stats_.cached_bytes -= static_cast<int64_t>(bucket);
      stats_.in_use_bytes += static_cast<int64_t>(bucket);
      return p;
    }
  }
  void* p = nullptr;
  try {
    p = backend_->Allocate(bucket);
  } catch (const Error&) {
    // Cached blocks of other sizes may be what stands in the way: release them and retry once.
    {
      std::lock_guard<std::mutex> lock(mu_);
      EmptyCacheLocked();
    }
    p = backend_->Allocate(bucket);  // throws the same error again if still out of memory
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.backend_allocations;
  stats_.in_use_bytes += static_cast<int64_t>(bucket);
  return p;
}

void CachingAllocator::Free(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  const size_t bucket = BucketSize(nbytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.in_use_bytes -= static_cast<int64_t>(bucket);
    if (static_cast<size_t>(stats_.cached_bytes) + bucket <= max_cached_bytes_) {
      free_blocks_[bucket].push_back(ptr);
      stats_.cached_bytes += static_cast<int64_t>(bucket);
      return;
    }
    ++stats_.backend_frees;
  }
  backend_->Free(ptr, bucket);
}

void CachingAllocator::EmptyCache() {
  std::lock_guard<std::mutex> lock(mu_);
  EmptyCacheLocked();
}

void CachingAllocator::EmptyCacheLocked() {
  for (auto& [bucket, blocks] : free_blocks_) {
    for (void* p : blocks) backend_->Free(p, bucket);
    stats_.backend_frees += static_cast<int64_t>(blocks.size());
  }
  free_blocks_.clear();
  stats_.cached_bytes = 0;
}

CachingAllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

namespace {
// Enough for the activations and gradients of a few concurrent training jobs of the model
// sizes this service trains; beyond it, frees go back to the system.
constexpr size_t kCpuCacheBytes = size_t{256} << 20;

using AllocatorTable = std::array<std::atomic<Allocator*>, kMaxDeviceTypes>;

AllocatorTable& Registry() {
  static AllocatorTable* registry = [] {
    auto* r = new AllocatorTable();  // never destroyed, like the CPU allocator
    for (auto& a : *r) a.store(nullptr);
    (*r)[static_cast<int>(Device::Type::kCPU)].store(&CpuCachingAllocator());
    // Null unless this build has CUDA and the machine a GPU: then cuda:N is a device.
    (*r)[static_cast<int>(Device::Type::kCUDA)].store(CudaAllocatorIfPresent());
    return r;
  }();
  return *registry;
}

int Slot(Device::Type type) {
  const int i = static_cast<int>(type);
  MT_CHECK(i >= 0 && i < kMaxDeviceTypes, "device type ", i, " is outside [0, ", kMaxDeviceTypes,
           ")");
  return i;
}
}  // namespace

CachingAllocator& CpuCachingAllocator() {
  // Never destroyed: tensors in static storage may be freed after main returns.
  static CachingAllocator* cpu =
      new CachingAllocator(std::make_unique<AlignedCpuAllocator>(), kCpuCacheBytes);
  return *cpu;
}

Allocator* GetAllocator(Device::Type type) {
  return Registry()[Slot(type)].load(std::memory_order_acquire);
}

void SetAllocator(Device::Type type, Allocator* allocator) {
  Registry()[Slot(type)].store(allocator, std::memory_order_release);
}

void EmptyCache() {
  for (auto& a : Registry()) {
    if (Allocator* p = a.load(std::memory_order_acquire)) p->EmptyCache();
  }
}

}  // namespace mt
