// Optimiser bodies, emulated, against the double reference.
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/emu/test_util.h"
#include "kernels/cuda/optim_body.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda::emu {
namespace {

namespace ref = ::mt::kernels::reference;

template <typename T>
class OptimEmuTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(OptimEmuTest, Types);

TYPED_TEST(OptimEmuTest, SgdMatchesReference) {
  using T = TypeParam;
  std::mt19937_64 rng(13);
  const int64_t n = 777;
  for (double momentum : {0.0, 0.9}) {
    auto p = RandomVector<T>(n, rng), buf = RandomVector<T>(n, rng);
    std::vector<double> rp(p.begin(), p.end()), rbuf(buf.begin(), buf.end());
    EmuExec ex;
    for (int step = 0; step < 3; ++step) {
      auto g = RandomVector<T>(n, rng);
      std::vector<double> rg(g.begin(), g.end());
      SgdStepImpl(ex, n, p.data(), g.data(), momentum != 0 ? buf.data() : nullptr, T(0.1),
                  T(momentum), T(0.01), step == 0);
      ref::SgdStep(rp, rg, rbuf, 0.1, momentum, 0.01, step == 0);
    }
    ExpectAllClose(p, rp, 16 * Eps<T>(), 16 * Eps<T>(), "sgd");
  }
}

TYPED_TEST(OptimEmuTest, AdamMatchesReference) {
  using T = TypeParam;
  std::mt19937_64 rng(14);
  const int64_t n = 500;
  auto p = RandomVector<T>(n, rng);
  std::vector<T> m(n, T(0)), v(n, T(0));
  std::vector<double> rp(p.begin(), p.end()), rm(n, 0), rv(n, 0);
  EmuExec ex;
  for (int64_t step = 1; step <= 4; ++step) {
    auto g = RandomVector<T>(n, rng);
    std::vector<double> rg(g.begin(), g.end());
    AdamStepImpl(ex, n, p.data(), g.data(), m.data(), v.data(), T(1e-3), T(0.9), T(0.999), T(1e-8),
                 T(0.01), step);
    ref::AdamStep(rp, rg, rm, rv, 1e-3, 0.9, 0.999, 1e-8, 0.01, step);
  }
  ExpectAllClose(p, rp, 64 * Eps<T>(), 64 * Eps<T>() * 1e-3, "adam");
}

}  // namespace
}  // namespace mt::kernels::cuda::emu
