// Exact small cases for every op's forward pass (MiniTorch's own cases among them), and the
// errors bad arguments produce.
#include "engine/ops.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/autograd.h"

namespace mt {
namespace {

using ::testing::HasSubstr;

std::vector<double> V(const Tensor& t) { return t.ToVector(); }

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-6) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

Tensor Grid4x4() {  // 1..16 as (1, 1, 4, 4)
  std::vector<double> v(16);
  for (int i = 0; i < 16; ++i) v[i] = i + 1;
  return Tensor::FromVector(v, {1, 1, 4, 4});
}

TEST(Conv1d, MiniTorchSingleChannel) {
  // [0,1,2,3] * [1,2,3], output as wide as the input, zero past the right edge.
  Tensor x = Tensor::FromVector({0, 1, 2, 3}, {1, 1, 4});
  Tensor w = Tensor::FromVector({1, 2, 3}, {1, 1, 3});
  Conv1dOptions o;
  o.pad_right = 2;
  EXPECT_EQ(V(Conv1d(x, w, Tensor(), o)), (std::vector<double>{8, 14, 8, 3}));
}

TEST(Conv1d, MiniTorchTwoIdenticalChannels) {
  Tensor x = Tensor::FromVector({0, 1, 2, 3, 0, 1, 2, 3}, {1, 2, 4});
  Tensor w = Tensor::FromVector({1, 2, 3, 1, 2, 3}, {1, 2, 3});
  Conv1dOptions o;
  o.pad_right = 2;
  EXPECT_EQ(V(Conv1d(x, w, Tensor(), o)), (std::vector<double>{16, 28, 16, 6}));
}

TEST(Conv1d, PyTorchStrideBiasAndPadding) {
  // torch.nn.functional.conv1d(x=[1..5], w=[1,0,-1], bias=10, stride=2, padding=1)
  //   padded [0,1,2,3,4,5,0] → windows at 0,2,4: [0-2, 2-4, 4-0] + 10 = [8, 8, 14]
  Tensor x = Tensor::FromVector({1, 2, 3, 4, 5}, {1, 1, 5});
  Tensor w = Tensor::FromVector({1, 0, -1}, {1, 1, 3});
  Conv1dOptions o;
  o.stride = 2;
  o.pad_left = o.pad_right = 1;
  EXPECT_EQ(V(Conv1d(x, w, Tensor::FromVector({10}, {1}), o)), (std::vector<double>{8, 8, 14}));
}

TEST(Conv2d, MiniTorchAnchoredTopLeft) {
  // 2x2 ones kernel on the 4x4 grid, zero past bottom/right: out[y][x] = sum of the 2x2 block.
  Tensor w = Tensor::Ones({1, 1, 2, 2});
  Conv2dOptions o;
  o.pad_bottom = o.pad_right = 1;
  Tensor y = Conv2d(Grid4x4(), w, Tensor(), o);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(V(y), (std::vector<double>{14, 18, 22, 12, 30, 34, 38, 20, 46, 50, 54, 28, 27, 29,
                                       31, 16}));
}

TEST(Conv2d, ValidConvolutionMatchesHandComputation) {
  // PyTorch conv2d(grid, [[1,2],[3,4]]) (no padding): first output 1+4+15+24 = 44.
  Tensor w = Tensor::FromVector({1, 2, 3, 4}, {1, 1, 2, 2});
  Tensor y = Conv2d(Grid4x4(), w, Tensor(), {});
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(V(y), (std::vector<double>{44, 54, 64, 84, 94, 104, 124, 134, 144}));
}

TEST(Conv2d, Errors) {
  Tensor x = Tensor::Zeros({1, 3, 5, 5});
  try {
    Conv2d(x, Tensor::Zeros({2, 4, 3, 3}), Tensor(), {});
    FAIL() << "channel mismatch accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("input has 3 channels but the weight expects 4"));
  }
  EXPECT_THROW(Conv2d(x, Tensor::Zeros({2, 3, 7, 7}), Tensor(), {}), Error);
  EXPECT_THROW(Conv2d(Tensor::Zeros({3, 5, 5}), Tensor::Zeros({2, 3, 3, 3}), Tensor(), {}), Error);
  EXPECT_THROW(Conv2d(x, Tensor::Zeros({2, 3, 3, 3}), Tensor::Zeros({3}), {}), Error);
  Conv2dOptions bad;
  bad.stride_h = 0;
  EXPECT_THROW(Conv2d(x, Tensor::Zeros({2, 3, 3, 3}), Tensor(), bad), Error);
}

TEST(Tile, MiniTorchWindows) {
  Tensor t = Tile(Grid4x4(), 2, 2);
  EXPECT_EQ(t.shape(), (Shape{1, 1, 2, 2, 4}));
  std::vector<double> v = V(t);
  EXPECT_EQ(std::vector<double>(v.begin(), v.begin() + 4), (std::vector<double>{1, 2, 5, 6}));
  EXPECT_EQ(std::vector<double>(v.begin() + 4, v.begin() + 8), (std::vector<double>{3, 4, 7, 8}));
  Tensor t12 = Tile(Grid4x4(), 1, 2);
  EXPECT_EQ(t12.shape(), (Shape{1, 1, 4, 2, 2}));
  std::vector<double> w = V(t12);
  EXPECT_EQ(std::vector<double>(w.begin(), w.begin() + 4), (std::vector<double>{1, 2, 3, 4}));
}

TEST(Pooling, AvgAndMaxWindows) {
  EXPECT_EQ(V(AvgPool2d(Grid4x4(), 2, 2)), (std::vector<double>{3.5, 5.5, 11.5, 13.5}));
  EXPECT_EQ(V(MaxPool2d(Grid4x4(), 2, 2)), (std::vector<double>{6, 8, 14, 16}));
  EXPECT_EQ(V(AvgPool2d(Grid4x4(), 4, 4)), (std::vector<double>{8.5}));
  EXPECT_EQ(V(MaxPool2d(Grid4x4(), 1, 2)),
            (std::vector<double>{2, 4, 6, 8, 10, 12, 14, 16}));
}

// The dedicated pooling kernels against MiniTorch's composition (Tile, then Max / Mean over the
// window dim), which devices without them still use: same values and gradients, bit for bit,
// ties (small integers) included, in float and double.
TEST(Pooling, KernelsMatchTheTileComposition) {
  Generator gen(3);
  std::mt19937_64 rng(3);
  for (DType dt : {DType::kFloat32, DType::kFloat64}) {
    for (auto [kh, kw] : {std::pair<int64_t, int64_t>{2, 2}, {4, 4}, {1, 3}, {3, 2}}) {
      const Shape shape = {3, 2, kh * 3, kw * 2};
      std::vector<double> values(3 * 2 * kh * 3 * kw * 2);
      for (double& v : values) v = static_cast<double>(static_cast<int>(rng() % 7) - 3);
      Tensor x = Tensor::FromVector(values, shape, dt);
      for (bool max : {true, false}) {
        Tensor a = x.Detach(), b = x.Detach();
        a.set_requires_grad(true);
        b.set_requires_grad(true);
        Tensor pooled = max ? MaxPool2d(a, kh, kw) : AvgPool2d(a, kh, kw);
        Tensor composed = max ? Max(Tile(b, kh, kw), 4, false) : Mean(Tile(b, kh, kw), 4, false);
        ASSERT_EQ(pooled.shape(), composed.shape());
        EXPECT_EQ(V(pooled), V(composed)) << (max ? "max " : "avg ") << kh << "x" << kw;
        Tensor w = RandUniform(pooled.shape(), -1, 1, gen, dt);
        Sum(pooled * w).Backward();
        Sum(composed * w).Backward();
        EXPECT_EQ(V(a.grad()), V(b.grad())) << (max ? "max " : "avg ") << kh << "x" << kw;
      }
    }
  }
}

// The fused conv + max pool + ReLU against the three ops: the same values and the same
// gradients of input, weight and bias, bit for bit, on the CPU's fused path (LeNet-5's conv1
// shape in float32: the node is the fused op's) and where it composes the ops (float64; a conv
// on im2col + Gemm).
TEST(Conv2dMaxPoolRelu, SameValuesAndGradientsAsTheThreeOps) {
  Generator gen(11);
  struct Case {
    Shape input, weight;
    int64_t pad, kh, kw;
    DType dtype;
    bool bias;
    const char* node;  // the output's autograd node
  };
  const std::vector<Case> cases = {
      {{3, 1, 28, 28}, {6, 1, 5, 5}, 2, 2, 2, DType::kFloat32, true, "Conv2dMaxPoolRelu"},
      {{2, 1, 28, 28}, {6, 1, 5, 5}, 2, 2, 2, DType::kFloat32, false, "Conv2dMaxPoolRelu"},
      {{2, 2, 12, 14}, {7, 2, 3, 3}, 1, 3, 2, DType::kFloat32, true, "Conv2dMaxPoolRelu"},
      {{2, 1, 28, 28}, {6, 1, 5, 5}, 2, 2, 2, DType::kFloat64, true, "Relu"},
      {{2, 6, 14, 14}, {16, 6, 5, 5}, 0, 2, 2, DType::kFloat32, true, "Relu"},
  };
  for (const Case& c : cases) {
    Conv2dOptions o;
    o.pad_top = o.pad_bottom = o.pad_left = o.pad_right = c.pad;
    const Tensor x0 = RandUniform(c.input, -1, 1, gen, c.dtype);
    const Tensor w0 = RandUniform(c.weight, -0.5, 0.5, gen, c.dtype);
    const Tensor b0 = c.bias ? RandUniform({c.weight[0]}, -0.2, 0.2, gen, c.dtype) : Tensor();
    std::vector<Tensor> ours, theirs;
    for (std::vector<Tensor>* leaves : {&ours, &theirs}) {
      for (const Tensor& t : {x0, w0, b0}) {
        Tensor leaf = t.defined() ? Clone(t) : Tensor();
        if (leaf.defined()) leaf.set_requires_grad(true);
        leaves->push_back(leaf);
      }
    }
    const Tensor fused = Conv2dMaxPoolRelu(ours[0], ours[1], ours[2], o, c.kh, c.kw);
    const Tensor composed = Relu(MaxPool2d(Conv2d(theirs[0], theirs[1], theirs[2], o), c.kh, c.kw));
    const std::string what = ShapeToString(c.input) + " " + DTypeName(c.dtype);
    ASSERT_EQ(fused.shape(), composed.shape()) << what;
#if defined(__AVX2__) && defined(__FMA__)
    EXPECT_EQ(fused.impl()->grad_fn->name(), c.node) << what;
#else  // no direct conv kernels: the op always composes
    EXPECT_EQ(fused.impl()->grad_fn->name(), "Relu") << what;
#endif
    const std::vector<double> values = V(fused);
    EXPECT_EQ(values, V(composed)) << what;
    const int64_t zeros = std::count(values.begin(), values.end(), 0.0);
    EXPECT_GT(zeros, 0) << what;  // the ReLU cut something...
    EXPECT_LT(zeros, static_cast<int64_t>(values.size())) << what;  // ... and passed something
    const Tensor seed = RandUniform(fused.shape(), -1, 1, gen, c.dtype);
    Sum(fused * seed).Backward();
    Sum(composed * seed).Backward();
    for (int i = 0; i < 3; ++i) {
      if (!ours[i].defined()) continue;
      EXPECT_EQ(V(ours[i].grad()), V(theirs[i].grad())) << what << " gradient " << i;
    }
  }
  // Without gradients (inference) the fused path keeps no window taps and gives the same values.
  NoGradGuard no_grad;
  Conv2dOptions o;
  o.pad_top = o.pad_bottom = o.pad_left = o.pad_right = 2;
  const Tensor x = RandUniform({4, 1, 28, 28}, -1, 1, gen);
  const Tensor w = RandUniform({6, 1, 5, 5}, -0.5, 0.5, gen);
  const Tensor b = RandUniform({6}, -0.2, 0.2, gen);
  EXPECT_EQ(V(Conv2dMaxPoolRelu(x, w, b, o, 2, 2)), V(Relu(MaxPool2d(Conv2d(x, w, b, o), 2, 2))));
}

TEST(Conv2dMaxPoolRelu, Errors) {
  Conv2dOptions o;
  try {
    Conv2dMaxPoolRelu(Tensor::Zeros({1, 1, 8, 8}), Tensor::Zeros({2, 3, 3, 3}), Tensor(), o, 2, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("Conv2dMaxPoolRelu: input has 1 channels"));
  }
  try {  // a 6x6 conv output in 4x4 windows
    Conv2dMaxPoolRelu(Tensor::Zeros({1, 1, 8, 8}), Tensor::Zeros({2, 1, 3, 3}), Tensor(), o, 4, 4);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("Conv2dMaxPoolRelu: a 4x4 pooling window must divide"));
    EXPECT_THAT(e.what(), HasSubstr("6x6"));
  }
}

TEST(Pooling, SizesMustDivide) {
  try {
    AvgPool2d(Tensor::Zeros({1, 1, 5, 4}), 2, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("must divide"));
    EXPECT_THAT(e.what(), HasSubstr("5x4"));
  }
}

TEST(Max, KeepsReducedDimAndRoutesGradientToArgmax) {
  Generator gen(0);
  Tensor x = RandUniform({2, 3, 4}, -1, 1, gen);
  Tensor m = Max(x, 2);
  EXPECT_EQ(m.shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(Max(x, 2, false).shape(), (Shape{2, 3}));
  std::vector<double> xv = V(x), mv = V(m);
  for (int r = 0; r < 6; ++r) {
    EXPECT_EQ(mv[r], *std::max_element(xv.begin() + 4 * r, xv.begin() + 4 * r + 4));
  }
  // Ties: PyTorch sends the gradient to one position; the total is 1.
  Tensor tied = Tensor::FromVector({3, 1, 3, 3}, {1, 4});
  tied.set_requires_grad(true);
  Sum(Max(tied, 1)).Backward();
  std::vector<double> g = V(tied.grad());
  EXPECT_EQ(g[0] + g[1] + g[2] + g[3], 1.0);
  EXPECT_EQ(g[1], 0.0);
}

TEST(Argmax, IndicesAndOneHot) {
  Tensor x = Tensor::FromVector({0.1, 0.7, 0.2, 0.9, 0.05, 0.05}, {2, 3});
  Tensor a = Argmax(x, 1);
  EXPECT_EQ(a.dtype(), DType::kInt64);
  EXPECT_EQ(a.ToInt64Vector(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(V(OneHot(a, 3)), (std::vector<double>{0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(Argmax(x, 0).ToInt64Vector(), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_THROW(OneHot(Tensor::FromInt64({3}, {1}), 3), Error);
}

TEST(Softmax, RowsSumToOneAndExpLogSoftmaxIsSoftmax) {
  Generator gen(1);
  for (DType dt : {DType::kFloat32, DType::kFloat64}) {
    Tensor x = RandUniform({3, 5, 2}, -50, 50, gen, dt);
    for (int64_t dim : {0, 1, 2}) {
      Tensor s = Softmax(x, dim);
      ExpectNear(V(Sum(s, dim)), std::vector<double>(NumElements(Sum(s, dim).shape()), 1.0), 1e-5);
      ExpectNear(V(Exp(LogSoftmax(x, dim))), V(s), 1e-5);
    }
  }
  // Stable for huge logits: log-sum-exp instead of overflowing exp.
  Tensor big = Tensor::FromVector({1000, 1000}, {1, 2});
  ExpectNear(V(LogSoftmax(big, 1)), {-std::log(2.0), -std::log(2.0)});
  ExpectNear(V(Softmax(Tensor::FromVector({0, std::log(3.0)}, {2}), 0)), {0.25, 0.75});
}

TEST(Dropout, RateZeroOneAndEval) {
  Generator gen(5);
  Tensor x = RandUniform({4, 50}, 1, 2, gen);
  EXPECT_EQ(V(Dropout(x, 0.0, true, gen)), V(x));
  EXPECT_EQ(V(Dropout(x, 0.7, false, gen)), V(x));
  for (double v : V(Dropout(x, 1.0, true, gen))) EXPECT_EQ(v, 0.0);
  // Inverted scaling: survivors are x / (1 - rate), and about 1 - rate of them survive.
  std::vector<double> xv = V(x), y = V(Dropout(x, 0.25, true, gen));
  int kept = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] != 0) {
      ++kept;
      EXPECT_NEAR(y[i], xv[i] / 0.75, 1e-5);
    }
  }
  EXPECT_GT(kept, 120);
  EXPECT_LT(kept, 180);
  EXPECT_THROW(Dropout(x, 1.5, true, gen), Error);
}

TEST(Losses, NllCrossEntropyAndBce) {
  Tensor logp = Log(Tensor::FromVector({0.2, 0.8, 0.5, 0.5}, {2, 2}));
  Tensor target = Tensor::FromInt64({1, 0}, {2});
  EXPECT_NEAR(NllLoss(logp, target).item(), -(std::log(0.8) + std::log(0.5)) / 2, 1e-6);
  Tensor logits = Tensor::FromVector({0, 0, 0, std::log(3.0)}, {2, 2});
  EXPECT_NEAR(CrossEntropy(logits, target).item(), -(std::log(0.5) + std::log(0.25)) / 2, 1e-6);
  Tensor p = Tensor::FromVector({0.9, 0.2}, {2});
  Tensor y = Tensor::FromVector({1, 0}, {2});
  EXPECT_NEAR(BinaryCrossEntropy(p, y).item(), -(std::log(0.9) + std::log(0.8)) / 2, 1e-6);
  Tensor z = Tensor::FromVector({2.0, -1.0, 500.0, -500.0}, {4});
  Tensor yz = Tensor::FromVector({1, 0, 0, 1}, {4});
  double expect = (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0)) + 500 + 500) / 4;
  EXPECT_NEAR(BinaryCrossEntropyWithLogits(z, yz).item(), expect, 1e-4);
  // -inf in a class that is not the target must not poison the loss (PyTorch gathers).
  Tensor with_inf = Tensor::FromVector({-INFINITY, -0.1, -0.2, -INFINITY}, {2, 2});
  EXPECT_NEAR(NllLoss(with_inf, Tensor::FromInt64({1, 0}, {2})).item(), 0.15, 1e-6);
  EXPECT_THROW(NllLoss(logp, Tensor::FromInt64({2, 0}, {2})), Error);
  EXPECT_THROW(NllLoss(logp, Tensor::FromVector({1, 0}, {2})), Error);
}

TEST(Embedding, GathersRowsAndScattersGradient) {
  Tensor w = Tensor::FromVector({0, 1, 10, 11, 20, 21}, {3, 2});
  w.set_requires_grad(true);
  Tensor ids = Tensor::FromInt64({2, 0, 2}, {3});
  Tensor e = Embedding(w, ids);
  EXPECT_EQ(e.shape(), (Shape{3, 2}));
  EXPECT_EQ(V(e), (std::vector<double>{20, 21, 0, 1, 20, 21}));
  Sum(e).Backward();
  EXPECT_EQ(V(w.grad()), (std::vector<double>{1, 1, 0, 0, 2, 2}));
  EXPECT_THROW(Embedding(w, Tensor::FromInt64({3}, {1})), Error);
}

TEST(Matmul, SmallExactAndBatchedBroadcast) {
  Tensor a = Tensor::FromVector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::FromVector({7, 8, 9, 10, 11, 12}, {3, 2});
  EXPECT_EQ(V(Matmul(a, b)), (std::vector<double>{58, 64, 139, 154}));
  // Transposed view goes through without a copy and gives the same numbers as a dense copy.
  EXPECT_EQ(V(Matmul(Transpose(b, 0, 1), Transpose(a, 0, 1))),
            V(Matmul(Contiguous(Transpose(b, 0, 1)), Contiguous(Transpose(a, 0, 1)))));
  Tensor batch = Expand(Unsqueeze(a, 0), {3, 2, 3});
  Tensor out = Matmul(batch, b);
  EXPECT_EQ(out.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(V(Narrow(out, 0, 2, 1)), (std::vector<double>{58, 64, 139, 154}));
  try {
    Matmul(a, a);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("inner sizes differ"));
  }
}

TEST(Elementwise, BroadcastingAndComparisons) {
  Tensor a = Tensor::FromVector({1, 2, 3}, {3});
  Tensor b = Tensor::FromVector({10, 20}, {2, 1});
  Tensor c = Add(a, b);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(V(c), (std::vector<double>{11, 12, 13, 21, 22, 23}));
  EXPECT_EQ(V(Lt(a, Tensor::Scalar(2))), (std::vector<double>{1, 0, 0}));
  EXPECT_EQ(V(Eq(a, Tensor::Scalar(2))), (std::vector<double>{0, 1, 0}));
  EXPECT_EQ(V(Gt(a, Tensor::Scalar(2))), (std::vector<double>{0, 0, 1}));
  ExpectNear(V(Sigmoid(Tensor::FromVector({0, 1e4, -1e4}, {3}))), {0.5, 1, 0});
  ExpectNear(V(Softplus(Tensor::FromVector({0, 1e4, -1e4}, {3}))), {std::log(2.0), 1e4, 0});
  ExpectNear(V(Relu(Tensor::FromVector({-1, 0, 2}, {3}))), {0, 0, 2});
  try {
    Add(Tensor::Zeros({2, 3}), Tensor::Zeros({4}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot broadcast shapes [2, 3] and [4]"));
  }
  EXPECT_THROW(Add(Tensor::Zeros({2}), Tensor::Zeros({2}, DType::kFloat64)), Error);
  EXPECT_THROW(Exp(Tensor::FromInt64({1}, {1})), Error);
}

TEST(Reductions, SumMeanOverDims) {
  Tensor x = Tensor::FromVector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(V(Sum(x, 0)), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(V(Sum(x, 1)), (std::vector<double>{6, 15}));
  EXPECT_EQ(Sum(x, 1, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(Sum(x).item(), 21);
  EXPECT_EQ(V(Mean(x, -1)), (std::vector<double>{2, 5}));
  EXPECT_EQ(Mean(x).item(), 3.5);
  // Non-contiguous input reduces in logical order.
  EXPECT_EQ(V(Sum(Transpose(x, 0, 1), 1)), (std::vector<double>{5, 7, 9}));
  // Float32 sums accumulate in double: 1e6 ones stay exact.
  EXPECT_EQ(Sum(Tensor::Ones({1000000})).item(), 1e6);
}

TEST(InPlace, CopyIntoWritesAnyLayoutIntoADenseViewAndFillIntoSetsIt) {
  Tensor buffer = Tensor::Zeros({8});
  Tensor x = Tensor::FromVector({1, 2, 3, 4, 5, 6}, {2, 3});
  // A dense (3, 2) view at offset 1 of the buffer receives x's transpose in logical order.
  Tensor slot = MakeView(buffer, {3, 2}, ContiguousStrides({3, 2}), 1);
  CopyInto(slot, Transpose(x, 0, 1));
  EXPECT_EQ(V(buffer), (std::vector<double>{0, 1, 4, 2, 5, 3, 6, 0}));
  FillInto(Narrow(buffer, 0, 6, 2), 7);
  EXPECT_EQ(V(buffer), (std::vector<double>{0, 1, 4, 2, 5, 3, 7, 7}));
  // Outside the graph: the source keeps no link to the destination.
  Tensor p = Tensor::FromVector({1, 2}, {2});
  p.set_requires_grad(true);
  Tensor dst = Tensor::Zeros({2});
  CopyInto(dst, p);
  EXPECT_FALSE(dst.requires_grad());
  EXPECT_EQ(V(dst), (std::vector<double>{1, 2}));
  try {
    CopyInto(Tensor::Zeros({2, 2}), Tensor::Zeros({4}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot copy float32 [4] into float32 [2, 2]"));
  }
  EXPECT_THROW(CopyInto(Tensor::Zeros({2}), Tensor::Zeros({2}, DType::kFloat64)), Error);
  EXPECT_THROW(FillInto(Transpose(Tensor::Zeros({2, 3}), 0, 1), 1), Error);
}

}  // namespace
}  // namespace mt
