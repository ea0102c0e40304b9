// Softmax bodies (row and column plans), forward and backward, emulated.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/emu/test_util.h"
#include "kernels/cuda/softmax_body.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda::emu {
namespace {

namespace ref = ::mt::kernels::reference;

template <typename T>
class SoftmaxEmuTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SoftmaxEmuTest, Types);

struct Dims {
  int64_t outer, n, inner;
};
const Dims kShapes[] = {{4, 10, 1}, {3, 300, 1}, {2, 7, 5}, {5, 1, 1}};

TYPED_TEST(SoftmaxEmuTest, ForwardAndBackwardMatchReference) {
  using T = TypeParam;
  std::mt19937_64 rng(8);
  for (const Dims& d : kShapes) {
    const int64_t size = d.outer * d.n * d.inner;
    auto x = RandomVector<T>(size, rng, -20, 20);  // wide: the max shift matters
    auto g = RandomVector<T>(size, rng);
    for (bool log : {false, true}) {
      const std::string what = std::string(log ? "log_softmax" : "softmax") +
                               " n=" + std::to_string(d.n) + " inner=" + std::to_string(d.inner);
      std::vector<T> y(size), gi(size);
      EmuExec ex;
      SoftmaxForwardImpl(ex, log, x.data(), d.outer, d.n, d.inner, y.data());
      const auto want =
          log ? ref::LogSoftmax(x, d.outer, d.n, d.inner) : ref::Softmax(x, d.outer, d.n, d.inner);
      const double tol = 16 * Eps<T>() * std::sqrt(double(d.n));
      ExpectAllClose(y, want, tol, log ? tol * 20 : tol, what);
      SoftmaxBackwardImpl(ex, log, y.data(), g.data(), d.outer, d.n, d.inner, gi.data());
      const auto want_g = log ? ref::LogSoftmaxBackward(y, g, d.outer, d.n, d.inner)
                              : ref::SoftmaxBackward(y, g, d.outer, d.n, d.inner);
      ExpectAllClose(gi, want_g, 32 * Eps<T>(), 32 * Eps<T>() * std::sqrt(double(d.n)),
                     what + " backward");
    }
  }
}

TYPED_TEST(SoftmaxEmuTest, RowsSumToOne) {
  using T = TypeParam;
  std::mt19937_64 rng(9);
  const int64_t outer = 3, n = 1000;
  auto x = RandomVector<T>(outer * n, rng, -50, 50);
  std::vector<T> y(outer * n);
  EmuExec ex;
  SoftmaxForwardImpl(ex, false, x.data(), outer, n, 1, y.data());
  for (int64_t o = 0; o < outer; ++o) {
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += y[o * n + j];
    EXPECT_NEAR(s, 1.0, 64 * Eps<T>());
  }
}

}  // namespace
}  // namespace mt::kernels::cuda::emu
