// Where tensor storage comes from: one Allocator per device type, looked up by Storage.
//
// The CPU's allocator is a CachingAllocator over 64-byte aligned system memory: a training step
// allocates the same activation and gradient sizes every step, so freed blocks are kept in
// per-size buckets and handed out again instead of going back to malloc. The cache is bounded;
// EmptyCache() returns everything cached to the system.
#ifndef MT_ENGINE_ALLOCATOR_H_
#define MT_ENGINE_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace mt {

class Allocator {
 public:
  virtual ~Allocator() = default;
  // A block of at least nbytes (nbytes may be 0; the pointer is still valid and distinct), or
  // throws mt::OutOfMemory saying how much could not be allocated.
  virtual void* Allocate(size_t nbytes) = 0;
  // Returns a block from Allocate(nbytes) with the same nbytes.
  virtual void Free(void* ptr, size_t nbytes) = 0;
  // Gives cached memory back to the device (no-op for allocators that cache nothing).
  virtual void EmptyCache() {}
  // What Storage calls: the same, for one device of the allocator's type. A type with several
  // devices (GPUs: cuda:0, cuda:1) overrides these to use the device's own memory; the
  // defaults ignore the index.
  virtual void* AllocateOn(Device /*device*/, size_t nbytes) { return Allocate(nbytes); }
  virtual void FreeOn(Device /*device*/, void* ptr, size_t nbytes) { Free(ptr, nbytes); }
};

// Host memory, 64-byte aligned (whole cache lines, and AVX-512 aligned loads).
class AlignedCpuAllocator : public Allocator {
 public:
  void* Allocate(size_t nbytes) override;
  void Free(void* ptr, size_t nbytes) override;
};

struct CachingAllocatorStats {
  int64_t allocations = 0;          // Allocate calls
  int64_t cache_hits = 0;           // ... served from the cache
  int64_t backend_allocations = 0;  // ... that went to the underlying allocator
  int64_t backend_frees = 0;        // blocks given back to the underlying allocator
  int64_t cached_bytes = 0;         // bytes held in the cache now
  int64_t in_use_bytes = 0;         // bytes handed out and not yet freed (rounded sizes)
};

// Keeps freed blocks, bucketed by size class (64-byte steps up to 4 KiB, then four classes per
// power of two), for reuse by the next request of the same class. The shared lists hold at
// most max_cached_bytes; a free that would exceed it goes straight to the underlying
// allocator. Thread-safe.
//
// With per-thread caches (the CPU allocator's), each thread first keeps blocks of up to
// kThreadBlockBytes that it freed, kThreadCacheBytes in all, in a cache of its own, and takes
// from it first; only what does not fit there goes through the shared lists. Why: two threads
// training replicas of one model (engine/train/replicas.h) allocate the same sizes at the same
// time, and one shared lock and free list per size moved their cache lines between the cores
// on every allocation: fully independent models trained on two threads of one process ran
// 7-10 % slower than in two processes. A block freed by its thread also comes back with its
// lines still in that core's cache. A full thread cache hands everything it holds to the
// shared lists and starts again (so it follows the sizes its thread asks for now); a thread's
// cache also goes to the shared lists when the thread exits. stats() and EmptyCache() take in
// every thread's cache. So the memory cached is at most max_cached_bytes plus
// kThreadCacheBytes per thread that freed CPU tensors.
class CachingAllocator : public Allocator {
 public:
  static constexpr size_t kThreadBlockBytes = size_t{4} << 20;
  static constexpr size_t kThreadCacheBytes = size_t{16} << 20;
  CachingAllocator(std::unique_ptr<Allocator> backend, size_t max_cached_bytes,
                   bool thread_caches = false);
  ~CachingAllocator() override;

  void* Allocate(size_t nbytes) override;
  void Free(void* ptr, size_t nbytes) override;
  void EmptyCache() override;
  CachingAllocatorStats stats() const;
  size_t max_cached_bytes() const { return max_cached_bytes_; }

  // The bucket a request of nbytes falls in.
  static size_t BucketSize(size_t nbytes);

 private:
  struct ThreadCache;
  friend struct ThreadCache;
  void EmptyCacheLocked();
  // The calling thread's cache of this allocator, made on first use; null without caches.
  ThreadCache* ThisThreadCache();
  // Takes a departing thread's cache into the shared lists (or gives its blocks back).
  void Retire(ThreadCache* cache);
  // With mu_ and cache->mu held: moves every block of `cache` into the shared lists, or into
  // give_back (for the backend, after the locks) past max_cached_bytes.
  void SpillLocked(ThreadCache* cache, std::vector<std::pair<void*, size_t>>* give_back);

  std::unique_ptr<Allocator> backend_;
  const bool thread_caches_;
  const uint64_t id_;  // tells this allocator from a later one at the same address
  std::vector<ThreadCache*> thread_caches_list_;  // guarded by mu_
  const size_t max_cached_bytes_;
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_blocks_;  // bucket size -> blocks
  CachingAllocatorStats stats_;
};

// The allocator for a device type, or null when this build has none (Storage then refuses
// the device). The CPU's is the process-wide CachingAllocator (CpuCachingAllocator()).
Allocator* GetAllocator(Device::Type type);
// Installs (or with null, removes) the allocator of a device type. The registry does not own
// it: it must outlive every storage allocated through it. For new backends and tests.
void SetAllocator(Device::Type type, Allocator* allocator);

// The CPU's caching allocator (for stats and EmptyCache).
CachingAllocator& CpuCachingAllocator();
// Releases the CPU cache (and any other device's cached memory).
void EmptyCache();

}  // namespace mt

#endif  // MT_ENGINE_ALLOCATOR_H_
