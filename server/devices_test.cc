#include "server/devices.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "engine/cuda/runtime.h"

namespace mt::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Devices, TheCpuWithItsCoresMemoryAndSlots) {
  std::vector<v1::Device> devices = DiscoverDevices(3);
  // The CPU first, then one entry per GPU (none without a driver).
  ASSERT_EQ(devices.size(), 1u + static_cast<size_t>(cuda::GpuCount()));
  const v1::Device& cpu = devices[0];
  EXPECT_EQ(cpu.name(), "cpu");
  EXPECT_EQ(cpu.kind(), "cpu");
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(cpu.cores(), cores > 0 ? cores : 1);
  EXPECT_GT(cpu.memory_bytes(), 0);
  EXPECT_EQ(cpu.max_running(), 3);
  EXPECT_EQ(cpu.running(), 0);
  EXPECT_EQ(cpu.queued(), 0);
  EXPECT_THAT(cpu.description(), HasSubstr(std::to_string(cpu.cores()) + " cores, "));
  EXPECT_THAT(cpu.description(), HasSubstr(" GiB"));
  if (cuda::GpuCount() == 0) {
    EXPECT_THAT(DeviceNames(devices), ElementsAre("cpu"));
  }
}

TEST(Devices, AGpuShowsItsNameMemoryAndComputeCapability) {
  cuda::GpuProperties p;
  p.index = 1;
  p.name = "NVIDIA H200";
  p.total_memory_bytes = int64_t{150} << 30;
  p.compute_major = 9;
  p.compute_minor = 0;
  p.multiprocessors = 132;
  const v1::Device d = GpuDevice(p, 2);
  EXPECT_EQ(d.name(), "cuda:1");
  EXPECT_EQ(d.kind(), "cuda");
  EXPECT_EQ(d.compute_capability(), "9.0");
  EXPECT_EQ(d.memory_bytes(), int64_t{150} << 30);
  EXPECT_EQ(d.max_running(), 2);
  EXPECT_EQ(d.description(), "NVIDIA H200, compute capability 9.0, 132 SMs, 150.0 GiB");
}

TEST(Devices, EveryGpuDiscoveredIsDescribedWithItsMemory) {
  if (cuda::GpuCount() == 0) GTEST_SKIP() << "no GPU: " << cuda::NoGpuReason();
  std::vector<v1::Device> devices = DiscoverDevices(1);
  EXPECT_EQ(devices[1].name(), "cuda:0");
  EXPECT_GT(devices[1].memory_bytes(), 0);
  RefreshDeviceMemory(&devices[1]);
  EXPECT_GT(devices[1].memory_used_bytes(), 0);  // at least this process's context
}

TEST(Devices, RefreshingTheCpuChangesNothing) {
  std::vector<v1::Device> devices = DiscoverDevices(1);
  const std::string before = devices[0].SerializeAsString();
  RefreshDeviceMemory(&devices[0]);
  EXPECT_EQ(devices[0].SerializeAsString(), before);
}

v1::Device Described(const std::string& name, const std::string& kind, int running, int queued,
                     int max_running) {
  v1::Device d;
  d.set_name(name);
  d.set_kind(kind);
  d.set_running(running);
  d.set_queued(queued);
  d.set_max_running(max_running);
  return d;
}

TEST(Devices, AutoIsAFreeGpuElseTheCpu) {
  EXPECT_EQ(ChooseAutoDevice({Described("cpu", "cpu", 1, 3, 1)}), "cpu");
  EXPECT_EQ(ChooseAutoDevice({Described("cpu", "cpu", 0, 0, 1), Described("cuda:0", "cuda", 0, 0, 1)}),
            "cuda:0");
  EXPECT_EQ(ChooseAutoDevice({Described("cpu", "cpu", 0, 0, 1), Described("cuda:0", "cuda", 1, 0, 1),
                              Described("cuda:1", "cuda", 0, 0, 1)}),
            "cuda:1");
  // Every GPU busy (or with a queue): the CPU, even when it is busy too.
  EXPECT_EQ(ChooseAutoDevice({Described("cpu", "cpu", 1, 0, 1), Described("cuda:0", "cuda", 1, 0, 1),
                              Described("cuda:1", "cuda", 0, 2, 1)}),
            "cpu");
}

TEST(Devices, DefaultThreadsIsTheFlagElseEveryCore) {
  std::vector<v1::Device> devices = DiscoverDevices(1);
  EXPECT_EQ(DefaultThreads(devices, 3), 3);
  EXPECT_EQ(DefaultThreads(devices, 0), devices[0].cores());
  EXPECT_EQ(DefaultThreads({}, 0), 1);
}

}  // namespace
}  // namespace mt::server
