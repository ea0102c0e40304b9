// NLL loss bodies, emulated.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/emu/test_util.h"
#include "kernels/cuda/loss_body.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda::emu {
namespace {

namespace ref = ::mt::kernels::reference;

template <typename T>
class LossEmuTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LossEmuTest, Types);

TYPED_TEST(LossEmuTest, NllForwardAndBackwardMatchReference) {
  using T = TypeParam;
  std::mt19937_64 rng(10);
  for (int64_t n : {1, 7, 300, 1000}) {
    const int64_t c = 5;
    auto lp = RandomVector<T>(n * c, rng, -5, -0.01);
    std::vector<int64_t> target(n);
    for (auto& t : target) t = RandomInt(rng, 0, c - 1);
    T out = T(-1);
    EmuExec ex;
    NllLossForwardImpl(ex, lp.data(), target.data(), n, c, &out);
    // Rounding to T, plus a double sum of n terms of magnitude <= 5 (a tree, not left to right).
    const double want = ref::NllLoss(lp, target, c);
    EXPECT_NEAR(out, want, 2 * Eps<T>() * std::abs(want) + 5.0 * n * Eps<double>()) << "n=" << n;
    const T g = T(0.75);
    std::vector<T> gi(n * c, T(7));
    NllLossBackwardImpl(ex, &g, target.data(), n, c, gi.data());
    ExpectAllClose(gi, ref::NllLossBackward(0.75, target, c), 2 * Eps<T>(), 0, "nll backward");
  }
}

}  // namespace
}  // namespace mt::kernels::cuda::emu
