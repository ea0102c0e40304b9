#include "kernels/cpu/optim.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cpu {
namespace {

using testing::RandomVector;

template <typename T>
class OptimTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(OptimTest, Types);

// Relative tolerance for values computed in T by a handful of operations.
template <typename T>
double Tol() {
  return std::is_same_v<T, float> ? 1e-6 : 1e-14;
}

// Gradients 0.5, -0.3, 0.2 on a parameter starting at 1 (in every element of a small buffer).
constexpr double kGrads[] = {0.5, -0.3, 0.2};

TYPED_TEST(OptimTest, SgdMomentumWeightDecayByHand) {
  using T = TypeParam;
  // lr 0.1, momentum 0.9, weight decay 0.01:
  //   1: g = 0.5 + 0.01*1 = 0.51;            buf = 0.51;                   p = 1 - 0.051 = 0.949
  //   2: g = -0.3 + 0.00949 = -0.29051;      buf = 0.459 - 0.29051 = 0.16849;  p = 0.932151
  //   3: g = 0.2 + 0.00932151 = 0.20932151;  buf = 0.151641 + 0.20932151 = 0.36096251;
  //      p = 0.932151 - 0.036096251 = 0.896054749
  const double expected_p[] = {0.949, 0.932151, 0.896054749};
  const double expected_buf[] = {0.51, 0.16849, 0.36096251};
  const int64_t n = 5;
  std::vector<T> p(n, T(1)), buf(n, std::numeric_limits<T>::quiet_NaN());
  for (int step = 0; step < 3; ++step) {
    const std::vector<T> g(n, T(kGrads[step]));
    SgdStep<T>(testing::Ctx(), n, p.data(), g.data(), buf.data(), T(0.1), T(0.9), T(0.01),
               step == 0);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(p[i], expected_p[step], Tol<T>()) << "step " << step + 1;
      EXPECT_NEAR(buf[i], expected_buf[step], Tol<T>()) << "step " << step + 1;
    }
  }
}

TYPED_TEST(OptimTest, SgdPlainWithoutMomentumBuffer) {
  using T = TypeParam;
  // lr 0.1, weight decay 0.01, no momentum (buffer null):
  //   1: p = 1 - 0.1 * 0.51 = 0.949
  //   2: p = 0.949 - 0.1 * (-0.3 + 0.00949) = 0.978051
  //   3: p = 0.978051 - 0.1 * (0.2 + 0.00978051) = 0.957072949
  const double expected_p[] = {0.949, 0.978051, 0.957072949};
  std::vector<T> p(3, T(1));
  for (int step = 0; step < 3; ++step) {
    const std::vector<T> g(3, T(kGrads[step]));
    SgdStep<T>(testing::Ctx(), 3, p.data(), g.data(), nullptr, T(0.1), T(0), T(0.01), step == 0);
    for (T v : p) EXPECT_NEAR(v, expected_p[step], Tol<T>()) << "step " << step + 1;
  }
}

TYPED_TEST(OptimTest, AdamByHand) {
  using T = TypeParam;
  // lr 0.1, betas (0.9, 0.999), eps 1e-8, weight decay 0.1:
  //   1: g = 0.6;  m = 0.06;  v = 0.00036;  m^ = 0.6, v^ = 0.36
  //      p = 1 - 0.1 * 0.6 / (0.6 + 1e-8) = 0.9000000016666...
  //   2: g = -0.3 + 0.09 = -0.21;  m = 0.054 - 0.021 = 0.033;  v = 0.00035964 + 0.0000441
  //      = 0.00040374;  m^ = 0.033 / 0.19;  v^ = 0.00040374 / 0.001999
  //      p = 0.9 - 0.1 * 0.173684 / 0.449412 = 0.86135299...
  //   3: likewise, p = 0.80787455...
  const double expected_p[] = {0.9000000016666666, 0.8613529972101512, 0.8078745546785667};
  const double expected_m[] = {0.06, 0.03300000001666666, 0.058313529987101514};
  const double expected_v[] = {0.00036, 0.00040373999993, 0.0004852096696765052};
  const int64_t n = 4;
  std::vector<T> p(n, T(1)), m(n, T(0)), v(n, T(0));
  for (int step = 0; step < 3; ++step) {
    const std::vector<T> g(n, T(kGrads[step]));
    AdamStep<T>(testing::Ctx(), n, p.data(), g.data(), m.data(), v.data(), T(0.1), T(0.9), T(0.999),
                T(1e-8), T(0.1), step + 1);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(p[i], expected_p[step], 4 * Tol<T>()) << "step " << step + 1;
      EXPECT_NEAR(m[i], expected_m[step], Tol<T>()) << "step " << step + 1;
      // In float, 1 - beta2 = 1 - 0.999f is itself off by 1.3e-5 relative.
      const double v_tol = std::is_same_v<T, float> ? 3e-5 : 1e-13;
      EXPECT_NEAR(v[i], expected_v[step], v_tol * expected_v[step]) << "step " << step + 1;
    }
  }
}

// Large buffers take the threaded path; every element must follow its own scalar recurrence.
TYPED_TEST(OptimTest, LargeBuffersMatchScalarRecurrence) {
  using T = TypeParam;
  std::mt19937_64 rng(50);
  const int64_t n = 100003;
  const auto p0 = RandomVector<T>(n, rng);
  std::vector<T> p = p0, buf(n), pa = p0, m(n, T(0)), v(n, T(0));
  std::vector<double> rp(p0.begin(), p0.end()), rbuf(n), rpa = rp, rm(n, 0), rv(n, 0);
  for (int step = 1; step <= 3; ++step) {
    const auto g = RandomVector<T>(n, rng);
    SgdStep<T>(testing::Ctx(), n, p.data(), g.data(), buf.data(), T(0.05), T(0.8), T(0.001),
               step == 1);
    AdamStep<T>(testing::Ctx(), n, pa.data(), g.data(), m.data(), v.data(), T(0.01), T(0.9),
                T(0.99), T(1e-6), T(0.0), step);
    const std::vector<double> gd(g.begin(), g.end());
    reference::SgdStep(rp, gd, rbuf, 0.05, 0.8, 0.001, step == 1);
    reference::AdamStep(rpa, gd, rm, rv, 0.01, 0.9, 0.99, 1e-6, 0.0, step);
  }
  testing::ExpectAllClose(p, rp, 1e-5, 1e-5, "sgd");
  testing::ExpectAllClose(pa, rpa, 1e-4, 1e-5, "adam");
}

}  // namespace
}  // namespace mt::kernels::cpu
