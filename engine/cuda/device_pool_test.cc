// The caching pool on a fake device (host memory with a byte budget), so that caching, stream
// separation, out-of-memory recovery and the statistics are tested without a GPU.
#include "engine/cuda/device_pool.h"

#include <cstdlib>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace mt::cuda {
namespace {

struct FakeLog {
  int mallocs = 0, frees = 0, syncs = 0;
  int64_t used = 0;
  std::set<void*> live;
};

class FakeDevice : public DeviceMemory {
 public:
  FakeDevice(FakeLog* log, int64_t capacity) : log_(log), capacity_(capacity) {}
  absl::StatusOr<void*> Malloc(size_t nbytes) override {
    if (log_->used + static_cast<int64_t>(nbytes) > capacity_) {
      return absl::ResourceExhaustedError("cudaMalloc: out of memory (error 2)");
    }
    void* p = std::malloc(nbytes);
    ++log_->mallocs;
    log_->used += static_cast<int64_t>(nbytes);
    sizes_[p] = nbytes;
    log_->live.insert(p);
    return p;
  }
  void Free(void* p) override {
    ++log_->frees;
    log_->used -= static_cast<int64_t>(sizes_.at(p));
    log_->live.erase(p);
    sizes_.erase(p);
    std::free(p);
  }
  absl::Status Synchronize() override {
    ++log_->syncs;
    return absl::OkStatus();
  }
  absl::StatusOr<std::pair<int64_t, int64_t>> FreeAndTotal() override {
    return std::make_pair(capacity_ - log_->used, capacity_);
  }

 private:
  FakeLog* log_;
  int64_t capacity_;
  std::map<void*, size_t> sizes_;
};

void* const kStreamA = reinterpret_cast<void*>(0x1000);
void* const kStreamB = reinterpret_cast<void*>(0x2000);

TEST(DevicePool, BucketsRoundUpWithBoundedSlack) {
  EXPECT_EQ(DevicePool::BucketSize(0), 512u);
  EXPECT_EQ(DevicePool::BucketSize(1), 512u);
  EXPECT_EQ(DevicePool::BucketSize(512), 512u);
  EXPECT_EQ(DevicePool::BucketSize(513), 1024u);
  EXPECT_EQ(DevicePool::BucketSize(1 << 20), size_t{1} << 20);
  // Above 1 MiB: quarter-power-of-two steps.
  EXPECT_EQ(DevicePool::BucketSize((1 << 20) + 1), (size_t{1} << 20) + (size_t{1} << 18));
  EXPECT_EQ(DevicePool::BucketSize(3000000), 3145728u);  // 2 MiB + 2 * 512 KiB
  for (size_t n : {size_t{5000}, size_t{1234567}, size_t{987654321}}) {
    EXPECT_GE(DevicePool::BucketSize(n), n);
    EXPECT_LE(DevicePool::BucketSize(n), n + n / 4 + 512);
  }
}

TEST(DevicePool, ASecondStepOfTheSameSizesCallsNoMalloc) {
  FakeLog log;
  DevicePool pool(std::make_unique<FakeDevice>(&log, 1 << 30), "cuda:0");
  const std::vector<size_t> step = {4096, 100000, 3000000, 100000, 7};
  for (int s = 0; s < 3; ++s) {
    std::vector<void*> blocks;
    for (size_t n : step) blocks.push_back(*pool.Allocate(n, kStreamA));
    for (void* p : blocks) pool.Free(p);
  }
  const DevicePoolStats st = pool.stats();
  EXPECT_EQ(st.allocations, 15);
  EXPECT_EQ(st.device_allocations, 5);  // the first step only
  EXPECT_EQ(st.cache_hits, 10);
  EXPECT_EQ(log.mallocs, 5);
  EXPECT_EQ(st.in_use_bytes, 0);
  EXPECT_EQ(st.cached_bytes, 512 + 4096 + 2 * 100352 + 3145728);
  EXPECT_EQ(st.peak_in_use_bytes, st.cached_bytes);
}

TEST(DevicePool, AnotherStreamNeverGetsABlockItsOwnerMayStillUse) {
  FakeLog log;
  DevicePool pool(std::make_unique<FakeDevice>(&log, 1 << 30), "cuda:0");
  void* a = *pool.Allocate(1000, kStreamA);
  pool.Free(a);
  void* b = *pool.Allocate(1000, kStreamB);
  EXPECT_NE(a, b);  // A's kernels may still read `a`
  void* a2 = *pool.Allocate(1000, kStreamA);
  EXPECT_EQ(a2, a);  // stream order makes reuse by A safe
  pool.Free(a2);
  pool.Free(b);
  // Once A is retired (synchronised), its blocks are anyone's.
  pool.RetireStream(kStreamA);
  void* b2 = *pool.Allocate(1000, kStreamB);
  void* b3 = *pool.Allocate(1000, kStreamB);
  EXPECT_EQ(std::set<void*>({b2, b3}), std::set<void*>({a, b}));
  EXPECT_EQ(log.mallocs, 2);
  pool.Free(b2);
  pool.Free(b3);
}

TEST(DevicePool, BlocksInUseWhenTheirStreamRetiresGoToTheSharedList) {
  FakeLog log;
  DevicePool pool(std::make_unique<FakeDevice>(&log, 1 << 30), "cuda:0");
  void* a = *pool.Allocate(1000, kStreamA);
  pool.RetireStream(kStreamA);
  pool.Free(a);  // e.g. a model's parameters, dropped after the job ended
  EXPECT_EQ(*pool.Allocate(1000, kStreamB), a);
}

TEST(DevicePool, OutOfMemoryReleasesTheCacheRetriesThenSaysWhatHoldsTheMemory) {
  FakeLog log;
  DevicePool pool(std::make_unique<FakeDevice>(&log, 10 << 20), "cuda:1");
  void* big = *pool.Allocate(6 << 20, kStreamA);
  pool.Free(big);  // cached: 6 MiB of the 10 held by the pool
  // 8 MiB fits only once the cached 6 MiB block is given back.
  absl::StatusOr<void*> p = pool.Allocate(8 << 20, kStreamA);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(log.syncs, 1);  // the device was idle before the cache was released
  EXPECT_EQ(pool.stats().device_frees, 1);
  absl::StatusOr<void*> q = pool.Allocate(4 << 20, kStreamA);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(q.status().message(),
            "out of memory on cuda:1: cannot allocate 4.0 MiB; this job's tensors hold 8.0 MiB, "
            "2.0 MiB free of 10.0 MiB (other processes may hold the rest)");
  EXPECT_EQ(pool.stats().out_of_memory, 1);
  pool.Free(*p);
  EXPECT_TRUE(pool.Allocate(4 << 20, kStreamA).ok());  // the pool still works afterwards
}

TEST(DevicePool, EmptyCacheGivesEveryCachedBlockBackAndDestructionTheRest) {
  FakeLog log;
  {
    DevicePool pool(std::make_unique<FakeDevice>(&log, 1 << 30), "cuda:0");
    void* a = *pool.Allocate(100, kStreamA);
    void* b = *pool.Allocate(100000, nullptr);
    void* c = *pool.Allocate(100, kStreamB);
    pool.Free(a);
    pool.Free(b);
    ASSERT_TRUE(pool.EmptyCache().ok());
    EXPECT_EQ(log.frees, 2);
    EXPECT_EQ(pool.stats().cached_bytes, 0);
    EXPECT_EQ(log.live.size(), 1u);
    pool.Free(c);
    pool.Free(c);        // a second free of the same block is ignored
    pool.Free(nullptr);  // and so is null
    EXPECT_EQ(pool.stats().cached_bytes, 512);
  }
  EXPECT_TRUE(log.live.empty());
}

TEST(DevicePool, ThreadsAllocatingAndFreeingConcurrentlyKeepTheBooksBalanced) {
  FakeLog log;
  DevicePool pool(std::make_unique<FakeDevice>(&log, 1 << 30), "cuda:0");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      void* stream = reinterpret_cast<void*>(static_cast<uintptr_t>(0x100 * (t + 1)));
      for (int i = 0; i < 200; ++i) {
        void* p = *pool.Allocate(64 * (1 + i % 7), stream);
        pool.Free(p);
      }
    });
  }
  for (auto& th : threads) th.join();
  const DevicePoolStats st = pool.stats();
  EXPECT_EQ(st.allocations, 800);
  EXPECT_EQ(st.in_use_bytes, 0);
  EXPECT_EQ(st.cache_hits + st.device_allocations, 800);
}

}  // namespace
}  // namespace mt::cuda
