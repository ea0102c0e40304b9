// Autograd mechanics: accumulation into leaves, reuse, broadcast, graph release, no-grad.
#include "engine/autograd.h"

#include <gtest/gtest.h>

#include "engine/ops.h"

namespace mt {
namespace {

Tensor Leaf(std::vector<double> v, Shape s) {
  Tensor t = Tensor::FromVector(v, s, DType::kFloat64);
  t.set_requires_grad(true);
  return t;
}

TEST(Autograd, ChainRuleOnAScalar) {
  // L = sum(x^2 * 3 + x) → dL/dx = 6x + 1
  Tensor x = Leaf({1, -2, 0.5}, {3});
  Sum(Mul(x, x) * 3.0 + x).Backward();
  EXPECT_EQ(x.grad().ToVector(), (std::vector<double>{7, -11, 4}));
}

TEST(Autograd, ReusedTensorGetsEveryContribution) {
  Tensor x = Leaf({2}, {1});
  Tensor y = Mul(x, x);           // 2x
  Tensor z = Add(Mul(y, x), y);   // x^3 + x^2 → 3x^2 + 2x = 16
  Sum(z).Backward();
  EXPECT_EQ(x.grad().ToVector(), (std::vector<double>{16}));
}

TEST(Autograd, BroadcastGradientIsSummedBack) {
  Tensor bias = Leaf({1, 2, 3}, {3});
  Tensor x = Leaf({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {4, 3});
  Sum(Add(x, bias)).Backward();
  EXPECT_EQ(bias.grad().shape(), (Shape{3}));
  EXPECT_EQ(bias.grad().ToVector(), (std::vector<double>{4, 4, 4}));
  EXPECT_EQ(x.grad().shape(), (Shape{4, 3}));
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCallsUntilZeroed) {
  Tensor x = Leaf({1, 2}, {2});
  Sum(x * 2.0).Backward();
  Sum(x * 3.0).Backward();
  EXPECT_EQ(x.grad().ToVector(), (std::vector<double>{5, 5}));
  x.ZeroGrad();
  EXPECT_FALSE(x.grad().defined());
  Sum(x).Backward();
  EXPECT_EQ(x.grad().ToVector(), (std::vector<double>{1, 1}));
}

TEST(Autograd, GraphIsFreedAfterBackwardUnlessRetained) {
  Tensor x = Leaf({1, 2}, {2});
  Tensor loss = Sum(Exp(x));
  loss.Backward(Tensor(), /*retain_graph=*/true);
  loss.Backward();  // allowed once more
  EXPECT_NEAR(x.grad().ToVector()[0], 2 * std::exp(1.0), 1e-12);
  EXPECT_THROW(loss.Backward(), Error);  // the closures are gone now
}

TEST(Autograd, NoGradScopeRecordsNothing) {
  Tensor x = Leaf({1, 2}, {2});
  {
    NoGradGuard guard;
    Tensor y = Mul(x, x);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
  }
  EXPECT_TRUE(Mul(x, x).requires_grad());
  EXPECT_TRUE(GradEnabled());
}

TEST(Autograd, NonScalarBackwardNeedsASeed) {
  Tensor x = Leaf({1, 2}, {2});
  Tensor y = Mul(x, x);
  EXPECT_THROW(y.Backward(), Error);
  y.Backward(Tensor::FromVector({1, 10}, {2}, DType::kFloat64));
  EXPECT_EQ(x.grad().ToVector(), (std::vector<double>{2, 40}));
}

TEST(Autograd, ConstantsGetNoGradientAndDetachCutsTheGraph) {
  Tensor x = Leaf({3}, {1});
  Tensor c = Tensor::FromVector({5}, {1}, DType::kFloat64);
  Tensor y = Mul(x, c) + Mul(x.Detach(), x);  // d/dx = 5 + 3
  Sum(y).Backward();
  EXPECT_EQ(x.grad().ToVector(), (std::vector<double>{8}));
  EXPECT_FALSE(c.grad().defined());
  EXPECT_THROW(Sum(c).Backward(), Error);
}

TEST(Autograd, LeafGradIsNotAliasedToUpstreamTensors) {
  Tensor x = Leaf({1, 2}, {2});
  Tensor seed = Tensor::FromVector({1, 1}, {2}, DType::kFloat64);
  Clone(x).Backward(seed);
  seed.data<double>()[0] = 100;  // mutating the seed must not change x.grad
  EXPECT_EQ(x.grad().ToVector(), (std::vector<double>{1, 1}));
}

TEST(Autograd, ViewsPropagateToTheirBase) {
  Tensor x = Leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor y = Narrow(Transpose(x, 0, 1), 0, 1, 2);  // rows 1..2 of x^T: x[:, 1:3]
  Sum(Mul(y, y)).Backward();
  EXPECT_EQ(x.grad().ToVector(), (std::vector<double>{0, 4, 6, 0, 10, 12}));
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Tensor x = Leaf({1}, {1});
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0;
  Sum(y).Backward();
  EXPECT_EQ(x.grad().ToVector(), (std::vector<double>{1}));
}

}  // namespace
}  // namespace mt
