#include "engine/allocator.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <set>

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

// One thread's blocks of one allocator. Its mutex is taken by that thread on every call and by
// others only in stats(), EmptyCache() and Retire(), so it stays in that core's cache.
struct CachingAllocator::ThreadCache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> blocks;  // bucket size -> blocks
  int64_t bytes = 0;                                      // held in `blocks`
  // This thread's part of the allocator's stats (in_use may go negative: a block allocated
  // here and freed elsewhere).
  int64_t allocations = 0, hits = 0, in_use = 0;
};

namespace {
// The caching allocators with thread caches that exist, by id: a thread that exits after one
// was destroyed (tests make their own) must not touch it. Lock order: this, then an
// allocator's mu_, then a thread cache's mu.
std::mutex& LiveMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::set<uint64_t>& LiveIds() {
  static auto* ids = new std::set<uint64_t>;
  return *ids;
}
std::atomic<uint64_t> g_next_id{1};

struct ThreadCacheEntry {
  CachingAllocator* allocator;
  uint64_t id;
  void* cache;
};
// Gives a thread's caches back when it exits. One per thread, for every caching allocator
// with thread caches that the thread used.
struct ThreadCaches {
  std::vector<ThreadCacheEntry> caches;
  void (*retire)(CachingAllocator*, void*) = nullptr;  // CachingAllocator::Retire (private)
  ~ThreadCaches();
};
thread_local ThreadCaches t_caches;
// Set once this thread's ThreadCaches is gone: a block freed later in the thread's exit (by
// another thread_local's destructor) goes to the shared lists.
thread_local bool t_caches_gone = false;
ThreadCaches::~ThreadCaches() {
  t_caches_gone = true;
  std::lock_guard<std::mutex> lock(LiveMutex());
  for (const ThreadCacheEntry& e : caches) {
    if (LiveIds().count(e.id)) retire(e.allocator, e.cache);
  }
}
}  // namespace

CachingAllocator::CachingAllocator(std::unique_ptr<Allocator> backend, size_t max_cached_bytes,
                                   bool thread_caches)
    : backend_(std::move(backend)),
      thread_caches_(thread_caches),
      id_(g_next_id.fetch_add(1)),
      max_cached_bytes_(max_cached_bytes) {
  if (thread_caches_) {
    std::lock_guard<std::mutex> lock(LiveMutex());
    LiveIds().insert(id_);
  }
}

CachingAllocator::~CachingAllocator() {
  if (thread_caches_) {
    std::lock_guard<std::mutex> lock(LiveMutex());
    LiveIds().erase(id_);  // threads that exit later leave their (emptied) caches alone
  }
  std::lock_guard<std::mutex> lock(mu_);
  EmptyCacheLocked();  // every thread cache's blocks too
  // No thread touches its entry for this allocator again (its id is no longer live).
  for (ThreadCache* cache : thread_caches_list_) delete cache;
  thread_caches_list_.clear();
}

CachingAllocator::ThreadCache* CachingAllocator::ThisThreadCache() {
  if (!thread_caches_ || t_caches_gone) return nullptr;
  for (const ThreadCacheEntry& e : t_caches.caches) {
    if (e.allocator == this && e.id == id_) return static_cast<ThreadCache*>(e.cache);
  }
  auto* cache = new ThreadCache;
  {
    std::lock_guard<std::mutex> lock(mu_);
    thread_caches_list_.push_back(cache);
  }
  t_caches.retire = [](CachingAllocator* a, void* c) { a->Retire(static_cast<ThreadCache*>(c)); };
  t_caches.caches.push_back({this, id_, cache});
  return cache;
}

void CachingAllocator::SpillLocked(ThreadCache* cache,
                                   std::vector<std::pair<void*, size_t>>* give_back) {
  for (auto& [bucket, blocks] : cache->blocks) {
    for (void* p : blocks) {
      if (static_cast<size_t>(stats_.cached_bytes) + bucket <= max_cached_bytes_) {
        free_blocks_[bucket].push_back(p);
        stats_.cached_bytes += static_cast<int64_t>(bucket);
      } else {
        give_back->emplace_back(p, bucket);
        ++stats_.backend_frees;
      }
    }
  }
  cache->blocks.clear();
  cache->bytes = 0;
}

void CachingAllocator::Retire(ThreadCache* cache) {
  std::vector<std::pair<void*, size_t>> give_back;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::lock_guard<std::mutex> mine(cache->mu);
    SpillLocked(cache, &give_back);
    stats_.allocations += cache->allocations;
    stats_.cache_hits += cache->hits;
    stats_.in_use_bytes += cache->in_use;
    thread_caches_list_.erase(
        std::find(thread_caches_list_.begin(), thread_caches_list_.end(), cache));
  }
  delete cache;
  for (auto& [p, bucket] : give_back) backend_->Free(p, bucket);
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
  if (ThreadCache* cache = bucket <= kThreadBlockBytes ? ThisThreadCache() : nullptr) {
    std::lock_guard<std::mutex> mine(cache->mu);
    auto it = cache->blocks.find(bucket);
    if (it != cache->blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      ++cache->allocations;
      ++cache->hits;
      cache->bytes -= static_cast<int64_t>(bucket);
      cache->in_use += static_cast<int64_t>(bucket);
      return p;
    }
  }
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
  if (ThreadCache* cache = bucket <= kThreadBlockBytes ? ThisThreadCache() : nullptr) {
    {
      std::lock_guard<std::mutex> mine(cache->mu);
      if (static_cast<size_t>(cache->bytes) + bucket <= kThreadCacheBytes) {
        cache->blocks[bucket].push_back(ptr);
        cache->bytes += static_cast<int64_t>(bucket);
        cache->in_use -= static_cast<int64_t>(bucket);
        return;
      }
    }
    // Full: it holds sizes this thread may no longer ask for. They all go to the shared lists
    // (or back to the system, past max_cached_bytes), and the cache starts again from this one.
    std::vector<std::pair<void*, size_t>> give_back;
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::lock_guard<std::mutex> mine(cache->mu);
      SpillLocked(cache, &give_back);
      cache->blocks[bucket].push_back(ptr);
      cache->bytes += static_cast<int64_t>(bucket);
      cache->in_use -= static_cast<int64_t>(bucket);
    }
    for (auto& [p, b] : give_back) backend_->Free(p, b);
    return;
  }
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
  for (ThreadCache* cache : thread_caches_list_) {
    std::lock_guard<std::mutex> mine(cache->mu);
    for (auto& [bucket, blocks] : cache->blocks) {
      for (void* p : blocks) backend_->Free(p, bucket);
      stats_.backend_frees += static_cast<int64_t>(blocks.size());
    }
    cache->blocks.clear();
    cache->bytes = 0;
  }
  for (auto& [bucket, blocks] : free_blocks_) {
    for (void* p : blocks) backend_->Free(p, bucket);
    stats_.backend_frees += static_cast<int64_t>(blocks.size());
  }
  free_blocks_.clear();
  stats_.cached_bytes = 0;
}

CachingAllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  CachingAllocatorStats out = stats_;
  for (ThreadCache* cache : thread_caches_list_) {
    std::lock_guard<std::mutex> mine(cache->mu);
    out.allocations += cache->allocations;
    out.cache_hits += cache->hits;
    out.cached_bytes += cache->bytes;
    out.in_use_bytes += cache->in_use;
  }
  return out;
}

namespace {
// Enough for the activations and gradients of a few concurrent training jobs of the model
// sizes this service trains; beyond it, frees go back to the system. Each thread's own cache
// holds up to CachingAllocator::kThreadCacheBytes on top.
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
      new CachingAllocator(std::make_unique<AlignedCpuAllocator>(), kCpuCacheBytes,
                           /*thread_caches=*/true);
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
