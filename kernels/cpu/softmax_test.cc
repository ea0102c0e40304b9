#include "kernels/cpu/softmax.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cpu {
namespace {

using testing::Eps;
using testing::ExpectAllClose;
using testing::RandomInt;
using testing::RandomVector;

template <typename T>
class SoftmaxTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SoftmaxTest, Types);

struct Dims {
  int64_t outer, n, inner;
};

std::vector<Dims> TestDims(std::mt19937_64& rng) {
  std::vector<Dims> dims = {{1, 1, 1}, {2, 1000, 1}, {3, 7, 200}, {200, 10, 1}, {16, 40, 20}};
  for (int t = 0; t < 30; ++t) {
    dims.push_back({RandomInt(rng, 1, 5), RandomInt(rng, 1, 30), RandomInt(rng, 1, 6)});
  }
  return dims;
}

std::string Describe(const Dims& d) {
  return "(" + std::to_string(d.outer) + ", " + std::to_string(d.n) + ", " +
         std::to_string(d.inner) + ")";
}

TYPED_TEST(SoftmaxTest, ForwardMatchesReference) {
  using T = TypeParam;
  std::mt19937_64 rng(20);
  for (const Dims& d : TestDims(rng)) {
    const auto x = RandomVector<T>(d.outer * d.n * d.inner, rng, -5, 5);
    const std::vector<double> log_ref = reference::LogSoftmax(x, d.outer, d.n, d.inner);
    std::vector<double> ref(log_ref.size());
    for (size_t i = 0; i < ref.size(); ++i) ref[i] = std::exp(log_ref[i]);
    std::vector<T> y(x.size()), log_y(x.size());
    SoftmaxForward<T>(testing::Ctx(), x.data(), d.outer, d.n, d.inner, y.data());
    LogSoftmaxForward<T>(testing::Ctx(), x.data(), d.outer, d.n, d.inner, log_y.data());
    ExpectAllClose(y, ref, 16 * Eps<T>(), 0, "softmax " + Describe(d));
    ExpectAllClose(log_y, log_ref, 16 * Eps<T>(), 16 * Eps<T>(), "log_softmax " + Describe(d));
  }
}

TYPED_TEST(SoftmaxTest, StableForHugeLogits) {
  using T = TypeParam;
  // exp(1e4) overflows any float type; subtracting the max first keeps everything finite.
  const std::vector<T> x = {T(1e4), T(1e4 - 1), T(-1e4), T(1e4)};
  std::vector<T> y(4), log_y(4);
  SoftmaxForward<T>(testing::Ctx(), x.data(), 1, 4, 1, y.data());
  LogSoftmaxForward<T>(testing::Ctx(), x.data(), 1, 4, 1, log_y.data());
  const double e = std::exp(-1.0), s = 2 + e;
  ExpectAllClose(y, {1 / s, e / s, 0, 1 / s}, 8 * Eps<T>(), 0, "softmax");
  ExpectAllClose(log_y, {-std::log(s), -1 - std::log(s), -2e4 - std::log(s), -std::log(s)},
                 8 * Eps<T>(), 8 * Eps<T>(), "log_softmax");
}

TYPED_TEST(SoftmaxTest, BackwardMatchesReference) {
  using T = TypeParam;
  std::mt19937_64 rng(21);
  for (const Dims& d : TestDims(rng)) {
    const auto x = RandomVector<T>(d.outer * d.n * d.inner, rng, -3, 3);
    const auto g = RandomVector<T>(x.size(), rng);
    std::vector<T> y(x.size()), log_y(x.size()), gi(x.size()), log_gi(x.size());
    SoftmaxForward<T>(testing::Ctx(), x.data(), d.outer, d.n, d.inner, y.data());
    LogSoftmaxForward<T>(testing::Ctx(), x.data(), d.outer, d.n, d.inner, log_y.data());
    SoftmaxBackward<T>(testing::Ctx(), y.data(), g.data(), d.outer, d.n, d.inner, gi.data());
    LogSoftmaxBackward<T>(testing::Ctx(), log_y.data(), g.data(), d.outer, d.n, d.inner,
                          log_gi.data());
    // The Jacobian-vector products, written out.
    const std::vector<double> ref = reference::SoftmaxBackward(y, g, d.outer, d.n, d.inner);
    const std::vector<double> log_ref =
        reference::LogSoftmaxBackward(log_y, g, d.outer, d.n, d.inner);
    const double atol = 32 * Eps<T>() * std::sqrt(double(d.n));
    ExpectAllClose(gi, ref, 32 * Eps<T>(), atol, "softmax backward " + Describe(d));
    ExpectAllClose(log_gi, log_ref, 32 * Eps<T>(), atol, "log_softmax backward " + Describe(d));
  }
}

TEST(SoftmaxGradTest, BackwardMatchesFiniteDifferences) {
  // d/dx of L(x) = sum_j g_j * f(x)_j, by central differences, for f = softmax and log_softmax.
  std::mt19937_64 rng(22);
  const Dims d = {2, 5, 3};
  const auto x = RandomVector<double>(d.outer * d.n * d.inner, rng, -2, 2);
  const auto g = RandomVector<double>(x.size(), rng);
  for (bool log : {false, true}) {
    auto forward = [&](const std::vector<double>& in, std::vector<double>& out) {
      if (log) {
        LogSoftmaxForward<double>(testing::Ctx(), in.data(), d.outer, d.n, d.inner, out.data());
      } else {
        SoftmaxForward<double>(testing::Ctx(), in.data(), d.outer, d.n, d.inner, out.data());
      }
    };
    auto loss = [&](const std::vector<double>& in) {
      std::vector<double> out(in.size());
      forward(in, out);
      double l = 0;
      for (size_t i = 0; i < out.size(); ++i) l += g[i] * out[i];
      return l;
    };
    std::vector<double> y(x.size()), grad(x.size());
    forward(x, y);
    if (log) {
      LogSoftmaxBackward<double>(testing::Ctx(), y.data(), g.data(), d.outer, d.n, d.inner,
                                 grad.data());
    } else {
      SoftmaxBackward<double>(testing::Ctx(), y.data(), g.data(), d.outer, d.n, d.inner,
                              grad.data());
    }
    const double h = 1e-6;
    for (size_t i = 0; i < x.size(); ++i) {
      auto xp = x, xm = x;
      xp[i] += h;
      xm[i] -= h;
      EXPECT_NEAR(grad[i], (loss(xp) - loss(xm)) / (2 * h), 1e-7) << "log=" << log << " i=" << i;
    }
  }
}

}  // namespace
}  // namespace mt::kernels::cpu
