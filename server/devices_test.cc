#include "server/devices.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mt::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Devices, TheCpuWithItsCoresMemoryAndSlots) {
  std::vector<v1::Device> devices = DiscoverDevices(3);
  ASSERT_EQ(devices.size(), 1u);
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
  EXPECT_THAT(DeviceNames(devices), ElementsAre("cpu"));
}

TEST(Devices, DefaultThreadsIsTheFlagElseEveryCore) {
  std::vector<v1::Device> devices = DiscoverDevices(1);
  EXPECT_EQ(DefaultThreads(devices, 3), 3);
  EXPECT_EQ(DefaultThreads(devices, 0), devices[0].cores());
  EXPECT_EQ(DefaultThreads({}, 0), 1);
}

}  // namespace
}  // namespace mt::server
