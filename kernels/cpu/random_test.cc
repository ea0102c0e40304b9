#include "kernels/cpu/random.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cpu {
namespace {

TEST(RandomTest, Uniform01UsesTheTop53Bits) {
  std::mt19937_64 a(7), b(7);
  for (int i = 0; i < 100; ++i) {
    const double u = Uniform01(a);
    EXPECT_EQ(u, static_cast<double>(b() >> 11) / 9007199254740992.0);
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

template <typename T>
class DropoutMaskTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(DropoutMaskTest, Types);

TYPED_TEST(DropoutMaskTest, OneDrawPerElementInOrder) {
  using T = TypeParam;
  std::mt19937_64 engine(42);
  const std::mt19937_64 start = engine;
  const int64_t n = 10000;
  std::vector<T> mask(n);
  DropoutMask<T>(testing::Ctx(), engine, n, 0.75, 1 / 0.75, mask.data());
  std::vector<T> want;
  for (double v : reference::DropoutMask(start, n, 0.75, 1 / 0.75)) want.push_back(T(v));
  EXPECT_EQ(mask, want);
  std::mt19937_64 advanced = start;
  advanced.discard(n);
  EXPECT_EQ(engine, advanced);
  int64_t kept = 0;
  for (T m : mask) kept += m != T(0);
  EXPECT_NEAR(static_cast<double>(kept) / n, 0.75, 0.02);
}

}  // namespace
}  // namespace mt::kernels::cpu
