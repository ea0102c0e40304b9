#include "common/float_mode.h"

#include <cstdlib>
#include <limits>
#include <thread>

#include "gtest/gtest.h"

namespace mt {
namespace {

// The smallest normal float times 0.5: a subnormal result unless it is flushed.
float HalfOfSmallestNormal() {
  volatile float smallest = std::numeric_limits<float>::min();
  volatile float half = 0.5f;
  return smallest * half;
}

// A subnormal input to an addition, read as 0 when denormals are zero.
float SubnormalPlusZero(float subnormal) {
  volatile float x = subnormal, zero = 0.0f;
  return x + zero;
}

// Each case runs on a thread of its own: the mode is per thread, and the test's main thread
// keeps the default.
TEST(FloatMode, DefaultFlushesResultsAndInputs) {
  std::thread([] {
    unsetenv("MT_DENORMALS");
    const float subnormal = HalfOfSmallestNormal();
    ASSERT_GT(subnormal, 0.0f) << "this thread should start with IEEE subnormals";
    EXPECT_FALSE(DenormalsFlushed());
    ASSERT_TRUE(FlushDenormalsUnlessKept());
    EXPECT_TRUE(DenormalsFlushed());
    EXPECT_EQ(HalfOfSmallestNormal(), 0.0f);
    EXPECT_EQ(SubnormalPlusZero(subnormal), 0.0f);
    // Normal numbers are untouched.
    EXPECT_EQ(std::numeric_limits<float>::min() * 2.0f, 2 * std::numeric_limits<float>::min());
  }).join();
}

TEST(FloatMode, ThreadsStartedLaterInheritTheMode) {
  std::thread([] {
    unsetenv("MT_DENORMALS");
    ASSERT_TRUE(FlushDenormalsUnlessKept());
    float from_child = -1;
    bool child_flushes = false;
    std::thread([&] {
      child_flushes = DenormalsFlushed();
      from_child = HalfOfSmallestNormal();
    }).join();
    EXPECT_TRUE(child_flushes);
    EXPECT_EQ(from_child, 0.0f);
  }).join();
}

TEST(FloatMode, KeepLeavesIeeeSubnormals) {
  std::thread([] {
    setenv("MT_DENORMALS", "keep", 1);
    EXPECT_FALSE(FlushDenormalsUnlessKept());
    EXPECT_FALSE(DenormalsFlushed());
    EXPECT_EQ(HalfOfSmallestNormal(), std::numeric_limits<float>::min() / 2);
    unsetenv("MT_DENORMALS");
  }).join();
}

}  // namespace
}  // namespace mt
