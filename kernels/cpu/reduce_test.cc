#include "kernels/cpu/reduce.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cpu {
namespace {

using testing::Eps;
using testing::RandomInt;
using testing::RandomVector;

template <typename T>
class ReduceTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ReduceTest, Types);

struct Dims {
  int64_t outer, n, inner;
};

std::vector<Dims> RandomDims(std::mt19937_64& rng) {
  // Fixed cases: a long row split into pieces, column blocks with a ragged edge, n == 1,
  // a reduction big enough for the threaded path.
  std::vector<Dims> dims = {{1, 40000, 1}, {3, 20000, 1}, {2, 5, 300}, {4, 1, 7},
                            {1, 1, 1},     {64, 33, 65}, {700, 100, 1}};
  for (int t = 0; t < 40; ++t) {
    dims.push_back({RandomInt(rng, 1, 6), RandomInt(rng, 1, 40), RandomInt(rng, 1, 9)});
  }
  return dims;
}

std::string Describe(const Dims& d) {
  return "(" + std::to_string(d.outer) + ", " + std::to_string(d.n) + ", " +
         std::to_string(d.inner) + ")";
}

TYPED_TEST(ReduceTest, SumDimMatchesReference) {
  using T = TypeParam;
  std::mt19937_64 rng(10);
  for (const Dims& d : RandomDims(rng)) {
    const auto in = RandomVector<T>(d.outer * d.n * d.inner, rng);
    std::vector<T> out(d.outer * d.inner);
    SumDim<T>(testing::Ctx(), in.data(), d.outer, d.n, d.inner, out.data());
    const std::vector<double> ref = reference::SumDim(in, d.outer, d.n, d.inner);
    // Accumulated in double, so only the final rounding to T (plus slack for the magnitude
    // of the cancelled terms) separates it from the reference.
    testing::ExpectAllClose(out, ref, 2 * Eps<T>(), 1e-12 * d.n, "SumDim " + Describe(d));
  }
}

TEST(ReduceFloatTest, SumDimAccumulatesInDouble) {
  // 1e6 copies of 0.1f: a float accumulator drifts by about 1%; a double one is exact to the
  // last float bit.
  const int64_t n = 1000000;
  const std::vector<float> in(n, 0.1f);
  float out = 0;
  SumDim<float>(testing::Ctx(), in.data(), 1, n, 1, &out);
  EXPECT_EQ(out, static_cast<float>(n * static_cast<double>(0.1f)));
  // Same along a strided dim (inner > 1).
  std::vector<float> out2(2);
  const std::vector<float> in2(2 * 300000, 0.1f);
  SumDim<float>(testing::Ctx(), in2.data(), 1, 300000, 2, out2.data());
  EXPECT_EQ(out2[0], static_cast<float>(300000 * static_cast<double>(0.1f)));
  EXPECT_EQ(out2[1], out2[0]);
}

TYPED_TEST(ReduceTest, SumDimEmptyReductionIsZero) {
  using T = TypeParam;
  std::vector<T> out(6, T(5));
  SumDim<T>(testing::Ctx(), static_cast<const T*>(nullptr), 2, 0, 3, out.data());
  for (T v : out) EXPECT_EQ(v, T(0));
}

TYPED_TEST(ReduceTest, MaxDimMatchesReferenceWithTies) {
  using T = TypeParam;
  std::mt19937_64 rng(11);
  for (const Dims& d : RandomDims(rng)) {
    // Few distinct values, so most columns hold ties.
    auto in = RandomVector<T>(d.outer * d.n * d.inner, rng, -3, 3);
    for (auto& x : in) x = std::round(x);
    std::vector<T> out(d.outer * d.inner);
    std::vector<int64_t> arg(d.outer * d.inner, -7);
    MaxDim<T>(testing::Ctx(), in.data(), d.outer, d.n, d.inner, out.data(), arg.data());
    std::vector<double> best;
    std::vector<int64_t> best_j;
    reference::MaxDim(in, d.outer, d.n, d.inner, &best, &best_j);
    for (int64_t o = 0; o < d.outer; ++o) {
      for (int64_t i = 0; i < d.inner; ++i) {
        ASSERT_EQ(double(out[o * d.inner + i]), best[o * d.inner + i])
            << Describe(d) << " o=" << o << " i=" << i;
        ASSERT_EQ(arg[o * d.inner + i], best_j[o * d.inner + i])
            << Describe(d) << " o=" << o << " i=" << i;
      }
    }
    // A null argmax is allowed and gives the same maxima.
    std::vector<T> out2(d.outer * d.inner);
    MaxDim<T>(testing::Ctx(), in.data(), d.outer, d.n, d.inner, out2.data(), nullptr);
    EXPECT_EQ(out, out2);
  }
}

TYPED_TEST(ReduceTest, MaxDimNanWinsAndFirstNanIsChosen) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  // Rows (inner == 1) and the same data as columns (inner == 3).
  const std::vector<T> rows = {1, nan, 5, nan,   // NaN at 1 beats 5.
                               2, 7, 7, 3,       // tie: first 7.
                               nan, 9, 1, 1};    // NaN first.
  std::vector<T> out(3);
  std::vector<int64_t> arg(3);
  MaxDim<T>(testing::Ctx(), rows.data(), 3, 4, 1, out.data(), arg.data());
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(arg[0], 1);
  EXPECT_EQ(out[1], T(7));
  EXPECT_EQ(arg[1], 1);
  EXPECT_TRUE(std::isnan(out[2]));
  EXPECT_EQ(arg[2], 0);
  std::vector<T> cols(12);
  for (int r = 0; r < 3; ++r) {
    for (int j = 0; j < 4; ++j) cols[j * 3 + r] = rows[r * 4 + j];
  }
  MaxDim<T>(testing::Ctx(), cols.data(), 1, 4, 3, out.data(), arg.data());
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(arg[0], 1);
  EXPECT_EQ(out[1], T(7));
  EXPECT_EQ(arg[1], 1);
  EXPECT_TRUE(std::isnan(out[2]));
  EXPECT_EQ(arg[2], 0);
}

// Signed zeros tie (-0 == +0): the first one wins and keeps its sign; ReLU rows are full of
// ties at 0 and of -1e30 masks (Kim CNN's max over time), long enough for the vector path.
TYPED_TEST(ReduceTest, MaxDimZerosTieToTheFirstWithItsSign) {
  using T = TypeParam;
  std::vector<T> rows(3 * 40, T(-1e30));
  rows[0] = T(-0.0), rows[1] = T(0.0);              // row 0: -0 first
  rows[40 + 5] = T(0.0), rows[40 + 9] = T(-0.0);    // row 1: +0 first (after the masks)
  rows[80 + 33] = T(2), rows[80 + 35] = T(2);       // row 2: first 2
  std::vector<T> out(3);
  std::vector<int64_t> arg(3);
  MaxDim<T>(testing::Ctx(), rows.data(), 3, 40, 1, out.data(), arg.data());
  EXPECT_EQ(arg[0], 0);
  EXPECT_TRUE(std::signbit(out[0]));
  EXPECT_EQ(arg[1], 5);
  EXPECT_FALSE(std::signbit(out[1]));
  EXPECT_EQ(arg[2], 33);
  EXPECT_EQ(out[2], T(2));
}

TYPED_TEST(ReduceTest, MaxDimBackwardScattersToArgmax) {
  using T = TypeParam;
  std::mt19937_64 rng(12);
  for (const Dims& d : RandomDims(rng)) {
    const auto grad_out = RandomVector<T>(d.outer * d.inner, rng);
    std::vector<int64_t> arg(d.outer * d.inner);
    for (auto& a : arg) a = RandomInt(rng, 0, d.n - 1);
    std::vector<T> grad_in(d.outer * d.n * d.inner, std::numeric_limits<T>::quiet_NaN());
    MaxDimBackward<T>(testing::Ctx(), grad_out.data(), arg.data(), d.outer, d.n, d.inner,
                      grad_in.data());
    const std::vector<double> expected =
        reference::MaxDimBackward(grad_out, arg, d.outer, d.n, d.inner);
    for (size_t i = 0; i < expected.size(); ++i) {
      ASSERT_EQ(double(grad_in[i]), expected[i]) << Describe(d) << " element " << i;
    }
  }
}

}  // namespace
}  // namespace mt::kernels::cpu
