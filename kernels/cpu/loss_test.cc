#include "kernels/cpu/loss.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cpu {
namespace {

template <typename T>
class LossTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LossTest, Types);

TYPED_TEST(LossTest, NllForwardIsTheMeanNegatedTargetLogProb) {
  using T = TypeParam;
  const std::vector<T> lp = {T(-0.5), T(-1), T(-2), T(-0.25), T(-3), T(-4)};  // (2, 3)
  const std::vector<int64_t> target = {2, 0};
  T out = T(99);
  NllLossForward<T>(testing::Ctx(), lp.data(), target.data(), 2, 3, &out);
  EXPECT_EQ(out, T(1.125));  // -(-2 + -0.25) / 2
  EXPECT_EQ(double(out), reference::NllLoss(lp, target, 3));
}

TYPED_TEST(LossTest, NllIgnoresMinusInfinityOutsideTheTarget) {
  using T = TypeParam;
  const T inf = std::numeric_limits<T>::infinity();
  const std::vector<T> lp = {-inf, T(-1), T(-0.5), -inf};  // (2, 2)
  const std::vector<int64_t> target = {1, 0};
  T out = T(0);
  NllLossForward<T>(testing::Ctx(), lp.data(), target.data(), 2, 2, &out);
  EXPECT_EQ(out, T(0.75));
}

TYPED_TEST(LossTest, NllBackwardScattersMinusGradOverN) {
  using T = TypeParam;
  const std::vector<int64_t> target = {2, 0};
  const T g = T(3);
  std::vector<T> gi(6, std::numeric_limits<T>::quiet_NaN());  // fully overwritten
  NllLossBackward<T>(testing::Ctx(), &g, target.data(), 2, 3, gi.data());
  EXPECT_EQ(gi, (std::vector<T>{0, 0, T(-1.5), T(-1.5), 0, 0}));
  std::vector<T> want;
  for (double v : reference::NllLossBackward(3.0, target, 3)) want.push_back(T(v));
  EXPECT_EQ(gi, want);
}

}  // namespace
}  // namespace mt::kernels::cpu
