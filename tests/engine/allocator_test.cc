// The caching CPU allocator: reuse of freed blocks, the bound on cached bytes, EmptyCache,
// and allocation failure staying an mt::Error.
#include "engine/allocator.h"

#include <memory>
#include <future>
#include <new>
#include <thread>
#include <vector>

#include "engine/ops.h"
#include "gtest/gtest.h"

namespace mt {
namespace {

// Aligned host memory that can be told to fail, counting calls.
class FlakyAllocator : public Allocator {
 public:
  void* Allocate(size_t nbytes) override {
    ++allocations;
    MT_CHECK(!fail, "out of memory allocating ", nbytes, " bytes");
    return base.Allocate(nbytes);
  }
  void Free(void* ptr, size_t nbytes) override {
    ++frees;
    base.Free(ptr, nbytes);
  }
  AlignedCpuAllocator base;
  bool fail = false;
  int allocations = 0, frees = 0;
};

TEST(CachingAllocator, ReusesFreedBlocksOfTheSameBucket) {
  auto backend = std::make_unique<FlakyAllocator>();
  FlakyAllocator* raw = backend.get();
  CachingAllocator a(std::move(backend), 1 << 20);
  void* p = a.Allocate(1000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  a.Free(p, 1000);
  EXPECT_EQ(a.stats().cached_bytes, 1024);
  void* q = a.Allocate(1010);  // same 64-byte bucket (1024)
  EXPECT_EQ(q, p);
  EXPECT_EQ(raw->allocations, 1);
  void* r = a.Allocate(2000);  // another bucket: a new block
  EXPECT_NE(r, p);
  EXPECT_EQ(raw->allocations, 2);
  const CachingAllocatorStats s = a.stats();
  EXPECT_EQ(s.allocations, 3);
  EXPECT_EQ(s.cache_hits, 1);
  EXPECT_EQ(s.backend_allocations, 2);
  EXPECT_EQ(s.in_use_bytes, 1024 + 2048);
  a.Free(q, 1010);
  a.Free(r, 2000);
  a.EmptyCache();
  EXPECT_EQ(a.stats().cached_bytes, 0);
  EXPECT_EQ(raw->frees, 2);
}

// With thread caches, a block goes back to the cache of the thread that freed it: that thread
// gets it again, another thread does not, until the thread exits; stats() and EmptyCache()
// take in every thread's cache; large blocks skip them.
TEST(CachingAllocator, ThreadCachesKeepEachThreadsBlocks) {
  auto backend = std::make_unique<FlakyAllocator>();
  FlakyAllocator* raw = backend.get();
  CachingAllocator a(std::move(backend), size_t{64} << 20, /*thread_caches=*/true);
  std::promise<void*> freed;
  std::promise<void> go_on;
  void* again = nullptr;
  std::thread other([&] {
    void* p = a.Allocate(1000);
    a.Free(p, 1000);
    freed.set_value(p);
    go_on.get_future().wait();
    again = a.Allocate(1000);
    a.Free(again, 1000);
  });
  void* p = freed.get_future().get();
  EXPECT_EQ(a.stats().cached_bytes, 1024);  // in the other thread's cache, counted
  void* q = a.Allocate(1000);
  EXPECT_NE(q, p) << "a block in another thread's cache was handed out";
  EXPECT_EQ(raw->allocations, 2);
  go_on.set_value();
  other.join();
  EXPECT_EQ(again, p);  // its own block again
  // The thread has exited: its block is in the shared lists, for this thread now.
  void* r = a.Allocate(1010);
  EXPECT_EQ(r, p);
  EXPECT_EQ(raw->allocations, 2);
  CachingAllocatorStats s = a.stats();
  EXPECT_EQ(s.allocations, 4);
  EXPECT_EQ(s.cache_hits, 2);
  EXPECT_EQ(s.in_use_bytes, 2048);
  a.Free(q, 1000);
  a.Free(r, 1000);
  // A block too large for a thread cache goes to the shared lists at once.
  const size_t big = CachingAllocator::kThreadBlockBytes + 1;
  void* large = nullptr;
  std::thread([&] {
    large = a.Allocate(big);
    a.Free(large, big);
  }).join();
  EXPECT_EQ(raw->allocations, 3);
  s = a.stats();
  EXPECT_EQ(s.in_use_bytes, 0);
  EXPECT_EQ(s.cached_bytes, 2048 + static_cast<int64_t>(CachingAllocator::BucketSize(big)));
  a.EmptyCache();  // this thread's cache too
  EXPECT_EQ(a.stats().cached_bytes, 0);
  EXPECT_EQ(raw->frees, 3);
  void* fresh = a.Allocate(1000);
  EXPECT_EQ(raw->allocations, 4);
  a.Free(fresh, 1000);
}

// A full thread cache hands what it holds to the shared lists, where other threads find it,
// and keeps the block being freed.
TEST(CachingAllocator, AFullThreadCacheGoesToTheSharedLists) {
  auto backend = std::make_unique<FlakyAllocator>();
  FlakyAllocator* raw = backend.get();
  CachingAllocator a(std::move(backend), size_t{64} << 20, /*thread_caches=*/true);
  const size_t block = CachingAllocator::kThreadBlockBytes;
  const int fit = static_cast<int>(CachingAllocator::kThreadCacheBytes / block);
  std::vector<void*> blocks;
  std::thread([&] {
    for (int i = 0; i <= fit; ++i) blocks.push_back(a.Allocate(block));
    for (void* p : blocks) a.Free(p, block);  // the last one finds the cache full
    EXPECT_EQ(a.Allocate(block), blocks.back());  // kept in this thread's cache
    a.Free(blocks.back(), block);
  }).join();
  EXPECT_EQ(raw->allocations, fit + 1);
  EXPECT_EQ(a.stats().cached_bytes, static_cast<int64_t>((fit + 1) * block));
  std::vector<void*> again;
  for (int i = 0; i <= fit; ++i) again.push_back(a.Allocate(block));
  EXPECT_EQ(raw->allocations, fit + 1) << "the spilled blocks were not found in the shared lists";
  for (void* p : again) a.Free(p, block);
  a.EmptyCache();
  EXPECT_EQ(raw->frees, fit + 1);
}

// A thread whose cache outlives its allocator (tests make their own) exits without touching it,
// and an allocator made later at the same address does not take the old cache for its own.
TEST(CachingAllocator, ThreadCachesOutliveTheirAllocator) {
  std::promise<void> made, destroyed;
  std::promise<void> done;
  alignas(CachingAllocator) unsigned char storage[sizeof(CachingAllocator)];
  auto* a = new (storage) CachingAllocator(std::make_unique<AlignedCpuAllocator>(), 1 << 20, true);
  std::thread other([&] {
    a->Free(a->Allocate(100), 100);  // a cache of this thread's
    made.set_value();
    destroyed.get_future().wait();
    auto* b = new (storage) CachingAllocator(std::make_unique<AlignedCpuAllocator>(), 1 << 20,
                                             true);
    void* p = b->Allocate(100);  // from the backend, not the old cache
    EXPECT_EQ(b->stats().cache_hits, 0);
    b->Free(p, 100);
    EXPECT_EQ(b->stats().cached_bytes, 128);
    b->~CachingAllocator();
  });
  made.get_future().wait();
  a->~CachingAllocator();
  destroyed.set_value();
  other.join();
}

TEST(CachingAllocator, SizeClasses) {
  EXPECT_EQ(CachingAllocator::BucketSize(0), 64u);
  EXPECT_EQ(CachingAllocator::BucketSize(1), 64u);
  EXPECT_EQ(CachingAllocator::BucketSize(4096), 4096u);
  // Above 4 KiB, four classes per power of two: 4097..5120 share one block size.
  EXPECT_EQ(CachingAllocator::BucketSize(4097), 5120u);
  EXPECT_EQ(CachingAllocator::BucketSize(5120), 5120u);
  EXPECT_EQ(CachingAllocator::BucketSize(5121), 6144u);
  EXPECT_EQ(CachingAllocator::BucketSize(size_t{1} << 20), size_t{1} << 20);
  EXPECT_EQ(CachingAllocator::BucketSize((size_t{1} << 20) + 1), (size_t{5} << 18));
  for (size_t n : {size_t{4097}, size_t{100000}, size_t{123456789}}) {
    EXPECT_GE(CachingAllocator::BucketSize(n), n);
    EXPECT_LE(CachingAllocator::BucketSize(n), n + n / 4 + 1);  // at most 25% slack
  }
}

TEST(CachingAllocator, CacheIsBounded) {
  auto backend = std::make_unique<FlakyAllocator>();
  FlakyAllocator* raw = backend.get();
  CachingAllocator a(std::move(backend), 4096);
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(a.Allocate(2048));
  for (void* p : blocks) a.Free(p, 2048);
  // Two 2048-byte blocks fit the 4096-byte bound; the other two went back at once.
  EXPECT_EQ(a.stats().cached_bytes, 4096);
  EXPECT_EQ(raw->frees, 2);
}

TEST(CachingAllocator, FailureIsAnMtErrorAfterReleasingTheCache) {
  auto backend = std::make_unique<FlakyAllocator>();
  FlakyAllocator* raw = backend.get();
  CachingAllocator a(std::move(backend), 1 << 20);
  a.Free(a.Allocate(64), 64);
  EXPECT_EQ(a.stats().cached_bytes, 64);
  raw->fail = true;
  EXPECT_THROW(a.Allocate(128), Error);
  EXPECT_EQ(a.stats().cached_bytes, 0);  // the cache was given back before giving up
}

TEST(CpuAllocator, TrainingStyleReallocationHitsTheCache) {
  CachingAllocator& cpu = CpuCachingAllocator();
  // A "step" allocating the same activation sizes twice: the second comes from the cache.
  auto step = [] {
    Tensor x = Tensor::Ones({64, 123});
    Tensor y = Relu(x * 2.0);
    return Sum(y).item();
  };
  EXPECT_EQ(step(), 64 * 123 * 2.0);
  const CachingAllocatorStats before = cpu.stats();
  EXPECT_EQ(step(), 64 * 123 * 2.0);
  const CachingAllocatorStats after = cpu.stats();
  EXPECT_GT(after.allocations, before.allocations);
  EXPECT_EQ(after.backend_allocations, before.backend_allocations);
  EmptyCache();
  EXPECT_EQ(cpu.stats().cached_bytes, 0);
}

TEST(CpuAllocator, HugeTensorIsAClearError) {
  try {
    Tensor::Empty({int64_t{1} << 42});  // 16 TiB of float32
    FAIL() << "a 16 TiB tensor should not be allocatable";
  } catch (const OutOfMemory& e) {
    // Its own type, so that callers can report RESOURCE_EXHAUSTED rather than a bad argument.
    EXPECT_NE(std::string(e.what()).find("out of memory allocating"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace mt
