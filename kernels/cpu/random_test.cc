#include "kernels/cpu/random.h"

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cpu {
namespace {

using ::mt::kernels::Philox4x32;
using ::mt::kernels::Philox4x32x10;

TEST(RandomTest, Uniform01UsesTheTop53Bits) {
  std::mt19937_64 a(7), b(7);
  for (int i = 0; i < 100; ++i) {
    const double u = Uniform01(a);
    EXPECT_EQ(u, static_cast<double>(b() >> 11) / 9007199254740992.0);
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

// Random123's known-answer vectors for philox4x32-10 (its kat_vectors file), for both the
// kernels' implementation and the reference's.
TEST(RandomTest, Philox4x32x10MatchesTheKnownAnswers) {
  struct Case {
    std::array<uint32_t, 4> counter;
    uint32_t k0, k1;
    std::array<uint32_t, 4> want;
  };
  const Case cases[] = {
      {{0, 0, 0, 0}, 0, 0, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       0xffffffff,
       0xffffffff,
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       0xa4093822,
       0x299f31d0,
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Case& c : cases) {
    const Philox4x32 got = Philox4x32x10(
        Philox4x32{{c.counter[0], c.counter[1], c.counter[2], c.counter[3]}}, c.k0, c.k1);
    EXPECT_EQ((std::array<uint32_t, 4>{got.v[0], got.v[1], got.v[2], got.v[3]}), c.want);
    EXPECT_EQ(reference::Philox4x32x10(c.counter, c.k0, c.k1), c.want);
  }
}

template <typename T>
class DropoutMaskTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(DropoutMaskTest, Types);

TYPED_TEST(DropoutMaskTest, KeyedByOneDrawAndAdvancesTheStreamByN) {
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
