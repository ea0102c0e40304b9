// The runtime's answers on the machine the test runs on. Without a GPU (CI, the development
// machines: a CUDA build there gets "driver version is insufficient") every call must say so
// with a reason instead of crashing; with one, the properties must be plausible.
#include "engine/cuda/runtime.h"

#include <cstring>

#include "gtest/gtest.h"

namespace mt::cuda {
namespace {

TEST(Runtime, ReportsGpusOrSaysWhyThereAreNone) {
  const int n = GpuCount();
  ASSERT_GE(n, 0);
  EXPECT_EQ(GpuCount(), n);  // cached, stable
  if (n == 0) {
    EXPECT_FALSE(NoGpuReason().empty());
  } else {
    EXPECT_EQ(NoGpuReason(), "");
  }
}

TEST(Runtime, WithoutAGpuEveryCallFailsCleanlyNamingTheReason) {
  if (GpuCount() > 0) GTEST_SKIP() << "this machine has a GPU; the no-GPU path is not taken";
  const std::string reason = NoGpuReason();
  absl::StatusOr<GpuProperties> p = Properties(0);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.status().message(), "cuda:0 is not available: " + reason);
  EXPECT_FALSE(MemoryInfo(0).ok());
  EXPECT_FALSE(Malloc(0, 16).ok());
  EXPECT_FALSE(StreamCreate(0).ok());
  EXPECT_FALSE(HostAllocPinned(16).ok());
  EXPECT_FALSE(EventCreate().ok());
  EXPECT_FALSE(SetDevice(0).ok());
  if (BuiltWithCuda()) {
    EXPECT_NE(reason.find("cudaGetDeviceCount"), std::string::npos) << reason;
  } else {
    EXPECT_NE(reason.find("no CUDA"), std::string::npos) << reason;
  }
}

TEST(Runtime, WithAGpuPropertiesAndMemoryArePlausible) {
  if (GpuCount() == 0) GTEST_SKIP() << "no GPU: " << NoGpuReason();
  absl::StatusOr<GpuProperties> p = Properties(0);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->name.empty());
  EXPECT_GT(p->total_memory_bytes, 0);
  EXPECT_GE(p->compute_major, 5);
  EXPECT_GT(p->multiprocessors, 0);
  absl::StatusOr<GpuMemoryInfo> m = MemoryInfo(0);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_GT(m->free_bytes, 0);
  EXPECT_LE(m->free_bytes, m->total_bytes);
  // A round trip through device memory on a stream of our own.
  absl::StatusOr<void*> stream = StreamCreate(0);
  ASSERT_TRUE(stream.ok()) << stream.status();
  absl::StatusOr<void*> dev = Malloc(0, 64);
  ASSERT_TRUE(dev.ok()) << dev.status();
  absl::StatusOr<void*> pinned = HostAllocPinned(64);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  char src[64], dst[64] = {};
  for (int i = 0; i < 64; ++i) src[i] = static_cast<char>(i * 3 + 1);
  ASSERT_TRUE(MemcpyAsync(*dev, src, 64, *stream).ok());
  ASSERT_TRUE(MemcpyAsync(*pinned, *dev, 64, *stream).ok());
  ASSERT_TRUE(StreamSynchronize(*stream).ok());
  std::memcpy(dst, *pinned, 64);
  EXPECT_EQ(std::memcmp(src, dst, 64), 0);
  EXPECT_TRUE(HostFreePinned(*pinned).ok());
  EXPECT_TRUE(Free(0, *dev).ok());
  EXPECT_TRUE(StreamDestroy(*stream).ok());
}

TEST(Runtime, AnIndexOutOfRangeIsRefusedWithTheRangeThatExists) {
  absl::Status s = CheckIndex(GpuCount() + 3);
  ASSERT_FALSE(s.ok());
  if (GpuCount() == 1) {
    EXPECT_EQ(s.message(), "cuda:4 does not exist: this machine has 1 GPU (cuda:0)");
  }
}

}  // namespace
}  // namespace mt::cuda
