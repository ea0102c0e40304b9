// Reduction bodies (both plans: block per output and thread per output), emulated.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/emu/test_util.h"
#include "kernels/cuda/reduce_body.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda::emu {
namespace {

namespace ref = ::mt::kernels::reference;

template <typename T>
class ReduceEmuTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ReduceEmuTest, Types);

struct Dims {
  int64_t outer, n, inner;
};
// Rows (block plan), columns (thread plan), few long outputs (block plan with inner > 1),
// a tiny n, and a non-power-of-two n shorter than the block.
const Dims kShapes[] = {{5, 300, 1}, {4, 7, 33}, {2, 1500, 3}, {6, 1, 4}, {3, 37, 1}};

TYPED_TEST(ReduceEmuTest, SumDimMatchesReference) {
  using T = TypeParam;
  std::mt19937_64 rng(5);
  for (const Dims& d : kShapes) {
    auto in = RandomVector<T>(d.outer * d.n * d.inner, rng);
    std::vector<T> out(d.outer * d.inner);
    EmuExec ex;
    SumDimImpl(ex, in.data(), d.outer, d.n, d.inner, out.data());
    // Accumulated in double: only the final rounding to T remains.
    ExpectAllClose(out, ref::SumDim(in, d.outer, d.n, d.inner), 2 * Eps<T>(),
                   1e-12 * std::sqrt(double(d.n)), "sum n=" + std::to_string(d.n));
  }
  EXPECT_TRUE(BlockPerOutput(5, 300, 1));
  EXPECT_FALSE(BlockPerOutput(4, 7, 33));
  EXPECT_TRUE(BlockPerOutput(2, 1500, 3));
}

TYPED_TEST(ReduceEmuTest, MaxDimAndArgmaxMatchReferenceWithTies) {
  using T = TypeParam;
  std::mt19937_64 rng(6);
  for (const Dims& d : kShapes) {
    auto in = RandomVector<T>(d.outer * d.n * d.inner, rng);
    // Coarse values: ties everywhere, so "first index wins" is exercised.
    for (auto& x : in) x = std::round(x * T(3));
    std::vector<T> out(d.outer * d.inner);
    std::vector<int64_t> arg(d.outer * d.inner);
    EmuExec ex;
    MaxDimImpl(ex, in.data(), d.outer, d.n, d.inner, out.data(), arg.data());
    std::vector<double> want;
    std::vector<int64_t> want_arg;
    ref::MaxDim(in, d.outer, d.n, d.inner, &want, &want_arg);
    ExpectAllClose(out, want, 0, 0, "max");
    EXPECT_EQ(arg, want_arg) << "n=" << d.n;
    // Without an argmax buffer.
    std::vector<T> out2(d.outer * d.inner);
    MaxDimImpl(ex, in.data(), d.outer, d.n, d.inner, out2.data(), static_cast<int64_t*>(nullptr));
    EXPECT_EQ(out2, out);
  }
}

TYPED_TEST(ReduceEmuTest, MaxDimTreatsNanAsTheMaximumAndEmptyAsMinusInfinity) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  for (int64_t n : {5, 40}) {  // thread plan and block plan
    std::vector<T> in(n, T(1));
    in[3] = nan;
    in[4] = nan;
    in[1] = T(9);
    T out;
    int64_t arg;
    EmuExec ex;
    MaxDimImpl(ex, in.data(), 1, n, 1, &out, &arg);
    EXPECT_TRUE(std::isnan(out));
    EXPECT_EQ(arg, 3);
  }
  std::vector<T> out(2);
  std::vector<int64_t> arg(2);
  EmuExec ex;
  MaxDimImpl(ex, static_cast<const T*>(nullptr), 2, 0, 1, out.data(), arg.data());
  EXPECT_EQ(out[0], -std::numeric_limits<T>::infinity());
  EXPECT_EQ(arg[1], -1);
}

TYPED_TEST(ReduceEmuTest, MaxDimBackwardScattersToTheArgmax) {
  using T = TypeParam;
  std::mt19937_64 rng(7);
  const int64_t outer = 3, n = 6, inner = 4;
  auto g = RandomVector<T>(outer * inner, rng);
  std::vector<int64_t> arg(outer * inner);
  for (auto& a : arg) a = RandomInt(rng, 0, n - 1);
  std::vector<T> gi(outer * n * inner, T(99));
  EmuExec ex;
  MaxDimBackwardImpl(ex, g.data(), arg.data(), outer, n, inner, gi.data());
  ExpectAllClose(gi, ref::MaxDimBackward(g, arg, outer, n, inner), 0, 0, "max backward");
}

}  // namespace
}  // namespace mt::kernels::cuda::emu
