// The pooling kernels against a direct double-precision loop over every window (written here,
// independently of the kernels' plane loops), and against MaxDim's tie and NaN rules.
#include "kernels/cpu/pool.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"

namespace mt::kernels::cpu {
namespace {

using testing::Ctx;
using testing::RandomInt;
using testing::RandomVector;

template <typename T>
class PoolTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(PoolTest, Types);

std::string Name(const Pool2dShape& s) {
  return "planes " + std::to_string(s.planes) + " " + std::to_string(s.in_h) + "x" +
         std::to_string(s.in_w) + " kernel " + std::to_string(s.kernel_h) + "x" +
         std::to_string(s.kernel_w);
}

// Fixed cases (LeNet-5's two pools, MiniTorch's 4x4, 1xk and kx1 windows, one big enough for
// the threaded path) and random ones.
std::vector<Pool2dShape> Shapes(std::mt19937_64& rng) {
  std::vector<Pool2dShape> v = {{64 * 6, 28, 28, 2, 2}, {64 * 16, 10, 10, 2, 2},
                                {16 * 8, 28, 28, 4, 4}, {3, 4, 6, 1, 3},
                                {2, 6, 4, 3, 1},        {1, 1, 1, 1, 1}};
  for (int t = 0; t < 30; ++t) {
    Pool2dShape s;
    s.planes = RandomInt(rng, 1, 5);
    s.kernel_h = RandomInt(rng, 1, 4);
    s.kernel_w = RandomInt(rng, 1, 4);
    s.in_h = s.kernel_h * RandomInt(rng, 1, 5);
    s.in_w = s.kernel_w * RandomInt(rng, 1, 5);
    v.push_back(s);
  }
  return v;
}

// Element (p, y, x) of the pooled output's window tap (i, j).
template <typename T>
T At(const std::vector<T>& in, const Pool2dShape& s, int64_t p, int64_t y, int64_t x, int64_t i,
     int64_t j) {
  return in[(p * s.in_h + y * s.kernel_h + i) * s.in_w + x * s.kernel_w + j];
}

TYPED_TEST(PoolTest, MaxForwardAndBackwardMatchDirectLoops) {
  using T = TypeParam;
  std::mt19937_64 rng(7);
  for (const Pool2dShape& s : Shapes(rng)) {
    // Small integers: many ties, which must go to the first tap in row-major window order.
    std::vector<T> in(s.planes * s.in_h * s.in_w);
    for (auto& v : in) v = static_cast<T>(RandomInt(rng, -3, 3));
    const int64_t oh = s.out_h(), ow = s.out_w(), n_out = s.planes * oh * ow;
    std::vector<T> out(n_out, T(-99));
    std::vector<int64_t> arg(n_out, -7);
    MaxPool2dForward<T>(Ctx(), s, in.data(), out.data(), arg.data());
    std::vector<T> grad_out = RandomVector<T>(n_out, rng);
    std::vector<T> grad_in(in.size(), std::numeric_limits<T>::quiet_NaN());  // garbage
    MaxPool2dBackward<T>(Ctx(), s, grad_out.data(), arg.data(), grad_in.data());
    std::vector<double> want_grad(in.size(), 0.0);
    for (int64_t p = 0; p < s.planes; ++p) {
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t x = 0; x < ow; ++x) {
          double best = -1e300;
          int64_t best_tap = -1;
          for (int64_t i = 0; i < s.kernel_h; ++i) {
            for (int64_t j = 0; j < s.kernel_w; ++j) {
              const double v = At(in, s, p, y, x, i, j);
              if (best_tap < 0 || v > best) {
                best = v;
                best_tap = i * s.kernel_w + j;
              }
            }
          }
          const int64_t o = (p * oh + y) * ow + x;
          ASSERT_EQ(static_cast<double>(out[o]), best) << Name(s) << " output " << o;
          ASSERT_EQ(arg[o], best_tap) << Name(s) << " output " << o;
          const int64_t i = best_tap / s.kernel_w, j = best_tap % s.kernel_w;
          want_grad[(p * s.in_h + y * s.kernel_h + i) * s.in_w + x * s.kernel_w + j] =
              grad_out[o];
        }
      }
    }
    testing::ExpectAllClose(grad_in, want_grad, 0.0, 0.0, Name(s) + " max backward");
  }
}

TYPED_TEST(PoolTest, MaxWithoutArgmaxGivesTheSameValues) {
  using T = TypeParam;
  std::mt19937_64 rng(8);
  const Pool2dShape s{5, 6, 9, 3, 3};
  std::vector<T> in = RandomVector<T>(s.planes * s.in_h * s.in_w, rng);
  std::vector<T> a(s.planes * 2 * 3), b(a.size());
  std::vector<int64_t> arg(a.size());
  MaxPool2dForward<T>(Ctx(), s, in.data(), a.data(), arg.data());
  MaxPool2dForward<T>(Ctx(), s, in.data(), b.data(), nullptr);
  EXPECT_EQ(a, b);
}

TYPED_TEST(PoolTest, MaxNanIsTheMaximumAndTheFirstNanWins) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  // One 2x2 window: 1, NaN / 5, NaN. MaxDim's rule: the first NaN (tap 1) is the maximum.
  const Pool2dShape s{1, 2, 2, 2, 2};
  std::vector<T> in = {T(1), nan, T(5), nan};
  T out = 0;
  int64_t arg = -1;
  MaxPool2dForward<T>(Ctx(), s, in.data(), &out, &arg);
  EXPECT_TRUE(std::isnan(out));
  EXPECT_EQ(arg, 1);
  // -inf everywhere but one tap: that tap.
  in = {-std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity(), T(-2),
        -std::numeric_limits<T>::infinity()};
  MaxPool2dForward<T>(Ctx(), s, in.data(), &out, &arg);
  EXPECT_EQ(out, T(-2));
  EXPECT_EQ(arg, 2);
}

TYPED_TEST(PoolTest, MaxNanRuleHoldsAcrossAWholeRowOf2x2Windows) {
  // 2 x 38 input: 19 windows in a row (the vectorised float path's blocks of 8 and its
  // overlapping last block). Window x holds NaN at taps given by x's bits (none, one, several),
  // values otherwise; the first NaN tap wins, else the first maximum.
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const Pool2dShape s{1, 2, 38, 2, 2};
  std::mt19937_64 rng(9);
  std::vector<T> in(2 * 38);
  for (auto& v : in) v = static_cast<T>(RandomInt(rng, -2, 2));
  for (int64_t x = 0; x < 19; ++x) {
    for (int tap = 0; tap < 4; ++tap) {
      if ((x >> tap) & 1) in[(tap / 2) * 38 + 2 * x + tap % 2] = nan;
    }
  }
  std::vector<T> out(19);
  std::vector<int64_t> arg(19, -1);
  MaxPool2dForward<T>(Ctx(), s, in.data(), out.data(), arg.data());
  for (int64_t x = 0; x < 19; ++x) {
    int64_t want = -1;
    for (int tap = 0; tap < 4 && want < 0; ++tap) {
      if ((x >> tap) & 1) want = tap;
    }
    if (want >= 0) {
      EXPECT_TRUE(std::isnan(out[x])) << x;
    } else {
      T best = 0;
      for (int tap = 0; tap < 4; ++tap) {
        const T v = in[(tap / 2) * 38 + 2 * x + tap % 2];
        if (want < 0 || v > best) best = v, want = tap;
      }
      EXPECT_EQ(out[x], best) << x;
    }
    EXPECT_EQ(arg[x], want) << x;
  }
}

TYPED_TEST(PoolTest, AvgForwardAndBackwardMatchDirectLoops) {
  using T = TypeParam;
  std::mt19937_64 rng(9);
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  for (const Pool2dShape& s : Shapes(rng)) {
    std::vector<T> in = RandomVector<T>(s.planes * s.in_h * s.in_w, rng);
    const int64_t oh = s.out_h(), ow = s.out_w(), n_out = s.planes * oh * ow;
    std::vector<T> out(n_out, std::numeric_limits<T>::quiet_NaN());
    AvgPool2dForward<T>(Ctx(), s, in.data(), out.data());
    std::vector<T> grad_out = RandomVector<T>(n_out, rng);
    std::vector<T> grad_in(in.size(), std::numeric_limits<T>::quiet_NaN());
    AvgPool2dBackward<T>(Ctx(), s, grad_out.data(), grad_in.data());
    std::vector<double> want(n_out), want_grad(in.size());
    const double taps = static_cast<double>(s.kernel_h * s.kernel_w);
    for (int64_t p = 0; p < s.planes; ++p) {
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t x = 0; x < ow; ++x) {
          const int64_t o = (p * oh + y) * ow + x;
          double sum = 0;
          for (int64_t i = 0; i < s.kernel_h; ++i) {
            for (int64_t j = 0; j < s.kernel_w; ++j) {
              sum += At(in, s, p, y, x, i, j);
              want_grad[(p * s.in_h + y * s.kernel_h + i) * s.in_w + x * s.kernel_w + j] =
                  static_cast<double>(grad_out[o]) / taps;
            }
          }
          want[o] = sum / taps;
        }
      }
    }
    testing::ExpectAllClose(out, want, tol, tol, Name(s) + " avg forward");
    testing::ExpectAllClose(grad_in, want_grad, tol, tol, Name(s) + " avg backward");
  }
}

TYPED_TEST(PoolTest, ThreadCountDoesNotChangeResults) {
  using T = TypeParam;
  std::mt19937_64 rng(10);
  const Pool2dShape s{64 * 6, 28, 28, 2, 2};
  std::vector<T> in = RandomVector<T>(s.planes * s.in_h * s.in_w, rng);
  const int64_t n_out = s.planes * 14 * 14;
  std::vector<T> one(n_out), two(n_out);
  std::vector<int64_t> a1(n_out), a2(n_out);
  MaxPool2dForward<T>(Context{1}, s, in.data(), one.data(), a1.data());
  MaxPool2dForward<T>(Context{2}, s, in.data(), two.data(), a2.data());
  EXPECT_EQ(one, two);
  EXPECT_EQ(a1, a2);
  AvgPool2dForward<T>(Context{1}, s, in.data(), one.data());
  AvgPool2dForward<T>(Context{2}, s, in.data(), two.data());
  EXPECT_EQ(one, two);
}

}  // namespace
}  // namespace mt::kernels::cpu
