// Dropout-mask body, emulated: the same mask as the CPU kernel and the reference for the same
// engine state, and the same stream position afterwards.
#include "kernels/cpu/random.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/emu/test_util.h"
#include "kernels/cuda/random_body.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda::emu {
namespace {

namespace ref = ::mt::kernels::reference;

template <typename T>
class RandomEmuTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(RandomEmuTest, Types);

TYPED_TEST(RandomEmuTest, DropoutMaskEqualsTheCpuKernelsAndTheReference) {
  using T = TypeParam;
  const int64_t n = 3001;
  std::mt19937_64 gpu_engine(99), cpu_engine(99);
  const std::mt19937_64 start(99);
  std::vector<T> gpu(n), cpu(n);
  EmuExec ex;
  DropoutMaskImpl(ex, gpu_engine, n, 0.6, 1 / 0.6, gpu.data());
  kernels::cpu::DropoutMask<T>(Context{1}, cpu_engine, n, 0.6, 1 / 0.6, cpu.data());
  EXPECT_EQ(gpu, cpu);
  std::vector<T> want;
  for (double m : ref::DropoutMask(start, n, 0.6, 1 / 0.6)) want.push_back(T(m));
  EXPECT_EQ(gpu, want);
  EXPECT_EQ(gpu_engine, cpu_engine);
  std::mt19937_64 advanced = start;
  advanced.discard(n);
  EXPECT_EQ(gpu_engine, advanced);
  int64_t kept = 0;
  for (T m : gpu) kept += m != T(0);
  EXPECT_NEAR(double(kept) / n, 0.6, 0.03);
}

}  // namespace
}  // namespace mt::kernels::cuda::emu
