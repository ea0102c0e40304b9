// Finite-difference gradient checks of every differentiable op, over many random seeded shapes,
// on contiguous, permuted (non-contiguous) and broadcast (stride-0) inputs — the property-test
// spirit of MiniTorch's suite, in float64 with central differences.
#include "engine/gradcheck.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "tests/engine/test_util.h"

namespace mt {
namespace {

using testing::AllLayouts;
using testing::Layout;
using testing::LayoutName;
using testing::RandInt;
using testing::RandomShape;

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// One input of a case: its logical shape and the range its values are drawn from.
struct InputSpec {
  Shape shape;
  double lo = -2.0, hi = 2.0;
};

int64_t g_cases = 0, g_elements = 0;

// Builds leaves for `specs` in `layout`, presents them to `op` as the specs' shapes, and checks
// every element's gradient. Returns a description for failure messages.
void CheckCase(const std::string& what, const std::vector<InputSpec>& specs, Layout layout,
               const OpFn& op, Generator& gen, GradcheckOptions options = {}) {
  std::vector<Tensor> leaves;
  std::vector<Shape> targets;
  for (const InputSpec& s : specs) {
    leaves.push_back(testing::RandLeaf(testing::LeafShape(s.shape, layout, gen), s.lo, s.hi, gen));
    targets.push_back(s.shape);
  }
  auto f = [&](const std::vector<Tensor>& xs) {
    std::vector<Tensor> presented;
    for (size_t i = 0; i < xs.size(); ++i) {
      presented.push_back(testing::Present(xs[i], targets[i], layout));
    }
    return op(presented);
  };
  options.seed = gen.Below(1000000);
  GradcheckResult r = Gradcheck(f, leaves, options);
  ++g_cases;
  g_elements += r.elements_checked;
  std::string shapes;
  for (const Shape& s : targets) shapes += ShapeToString(s) + " ";
  EXPECT_TRUE(r.status.ok()) << what << " [" << LayoutName(layout) << "] shapes " << shapes
                             << ": " << r.status.message();
}

// Runs `cases` random cases in each layout; make(gen) returns the input specs and the op.
void Property(const std::string& what, int cases,
              const std::function<std::pair<std::vector<InputSpec>, OpFn>(Generator&)>& make,
              GradcheckOptions options = {}) {
  for (Layout layout : AllLayouts()) {
    Generator gen(std::hash<std::string>()(what) + static_cast<int>(layout));
    for (int c = 0; c < cases; ++c) {
      auto [specs, op] = make(gen);
      CheckCase(what + " #" + std::to_string(c), specs, layout, op, gen, options);
    }
  }
}

// ---------------------------------------------------------------- elementwise
using Unary = Tensor (*)(const Tensor&);

void UnaryProperty(const std::string& name, Unary fn, double lo, double hi) {
  Property(name, 20, [&](Generator& gen) {
    return std::make_pair(std::vector<InputSpec>{{RandomShape(gen, 1, 4, 3), lo, hi}},
                          OpFn([fn](const std::vector<Tensor>& x) { return fn(x[0]); }));
  });
}

TEST(GradcheckOps, Neg) { UnaryProperty("Neg", Neg, -3, 3); }
TEST(GradcheckOps, Exp) { UnaryProperty("Exp", Exp, -3, 3); }
TEST(GradcheckOps, Log) { UnaryProperty("Log", Log, 0.2, 5); }
TEST(GradcheckOps, Relu) { UnaryProperty("Relu", Relu, -3, 3); }
TEST(GradcheckOps, Sigmoid) { UnaryProperty("Sigmoid", Sigmoid, -6, 6); }
TEST(GradcheckOps, Tanh) { UnaryProperty("Tanh", Tanh, -3, 3); }
TEST(GradcheckOps, Softplus) { UnaryProperty("Softplus", Softplus, -8, 8); }
TEST(GradcheckOps, Sqrt) { UnaryProperty("Sqrt", Sqrt, 0.2, 5); }

// b's shape: a broadcast-compatible variant of a's (some dims 1, maybe fewer leading dims).
Shape BroadcastPartner(const Shape& a, Generator& gen) {
  Shape b = a;
  for (int64_t& d : b) {
    if (gen.Uniform() < 0.3) d = 1;
  }
  int drop = static_cast<int>(gen.Below(b.size()));
  b.erase(b.begin(), b.begin() + drop);
  return b;
}

using Binary = Tensor (*)(const Tensor&, const Tensor&);

// b's values are drawn from [blo, bhi] (kept away from 0 for Div).
void BinaryProperty(const std::string& name, Binary fn, double blo, double bhi) {
  Property(name, 25, [&](Generator& gen) {
    Shape a = RandomShape(gen, 1, 4, 3);
    Shape b = BroadcastPartner(a, gen);
    if (gen.Uniform() < 0.5) std::swap(a, b);  // broadcast either side
    return std::make_pair(std::vector<InputSpec>{{a, -3, 3}, {b, blo, bhi}},
                          OpFn([fn](const std::vector<Tensor>& x) { return fn(x[0], x[1]); }));
  });
}

TEST(GradcheckOps, Add) { BinaryProperty("Add", Add, -3, 3); }
TEST(GradcheckOps, Sub) { BinaryProperty("Sub", Sub, -3, 3); }
TEST(GradcheckOps, Mul) { BinaryProperty("Mul", Mul, -3, 3); }
TEST(GradcheckOps, Div) { BinaryProperty("Div", Div, 0.5, 3); }

TEST(GradcheckOps, DivNegativeDivisor) {
  Property("DivNeg", 15, [](Generator& gen) {
    Shape a = RandomShape(gen, 1, 3, 3);
    return std::make_pair(std::vector<InputSpec>{{a, -3, 3}, {a, -3, -0.5}},
                          OpFn([](const std::vector<Tensor>& x) { return Div(x[0], x[1]); }));
  });
}

TEST(GradcheckOps, ScalarOperators) {
  Property("ScalarOps", 10, [](Generator& gen) {
    Shape a = RandomShape(gen, 1, 3, 3);
    return std::make_pair(std::vector<InputSpec>{{a, 0.5, 3}}, OpFn([](const std::vector<Tensor>& x) {
                            return (2.0 - x[0]) * 3.0 + x[0] / 4.0 - 1.5 * (x[0] + 1.0);
                          }));
  });
}

TEST(GradcheckOps, ReusedInput) {
  // x is used three times: its gradient must sum every path.
  Property("Reuse", 15, [](Generator& gen) {
    Shape a = RandomShape(gen, 1, 3, 3);
    return std::make_pair(std::vector<InputSpec>{{a, -2, 2}}, OpFn([](const std::vector<Tensor>& x) {
                            return Mul(Add(x[0], Exp(x[0])), Sigmoid(x[0]));
                          }));
  });
}

// ---------------------------------------------------------------- reductions
TEST(GradcheckOps, SumAndMean) {
  Property("SumAll", 15, [](Generator& gen) {
    return std::make_pair(std::vector<InputSpec>{{RandomShape(gen, 1, 4, 3)}},
                          OpFn([](const std::vector<Tensor>& x) { return Sum(x[0]); }));
  });
  Property("MeanAll", 15, [](Generator& gen) {
    return std::make_pair(std::vector<InputSpec>{{RandomShape(gen, 1, 4, 3)}},
                          OpFn([](const std::vector<Tensor>& x) { return Mean(x[0]); }));
  });
  Property("SumDim", 25, [](Generator& gen) {
    Shape s = RandomShape(gen, 1, 4, 3);
    int64_t dim = RandInt(gen, -static_cast<int64_t>(s.size()), s.size() - 1);
    bool keep = gen.Uniform() < 0.5;
    return std::make_pair(std::vector<InputSpec>{{s}}, OpFn([=](const std::vector<Tensor>& x) {
                            return Sum(x[0], dim, keep);
                          }));
  });
  Property("MeanDim", 25, [](Generator& gen) {
    Shape s = RandomShape(gen, 1, 4, 3);
    int64_t dim = RandInt(gen, 0, s.size() - 1);
    bool keep = gen.Uniform() < 0.5;
    return std::make_pair(std::vector<InputSpec>{{s}}, OpFn([=](const std::vector<Tensor>& x) {
                            return Mean(x[0], dim, keep);
                          }));
  });
}

TEST(GradcheckOps, Max) {
  Property("Max", 30, [](Generator& gen) {
    Shape s = RandomShape(gen, 1, 4, 4);
    int64_t dim = RandInt(gen, 0, s.size() - 1);
    bool keep = gen.Uniform() < 0.5;
    return std::make_pair(std::vector<InputSpec>{{s, -10, 10}},
                          OpFn([=](const std::vector<Tensor>& x) { return Max(x[0], dim, keep); }));
  });
}

// ---------------------------------------------------------------- matmul
TEST(GradcheckOps, Matmul) {
  Property("Matmul", 30, [](Generator& gen) {
    int64_t m = RandInt(gen, 1, 4), k = RandInt(gen, 1, 4), n = RandInt(gen, 1, 4);
    Shape a = {m, k}, b = {k, n};
    int kind = static_cast<int>(gen.Below(4));
    if (kind == 1) {  // batched, same batch
      int64_t bs = RandInt(gen, 1, 3);
      a.insert(a.begin(), bs);
      b.insert(b.begin(), bs);
    } else if (kind == 2) {  // batched @ matrix (matrix broadcast over the batch)
      a.insert(a.begin(), RandInt(gen, 2, 3));
    } else if (kind == 3) {  // 4-d with broadcasting batch dims on both sides
      int64_t b1 = RandInt(gen, 2, 3), b2 = RandInt(gen, 2, 3);
      a.insert(a.begin(), {b1, 1});
      b.insert(b.begin(), {1, b2});
    }
    return std::make_pair(std::vector<InputSpec>{{a}, {b}},
                          OpFn([](const std::vector<Tensor>& x) { return Matmul(x[0], x[1]); }));
  });
}

// A linear layer's product: x @ Transpose(weight), whose weight gradient Matmul computes as
// (g^T x)^T so it lands in the weight's own layout; a 3-d x takes the general path.
TEST(GradcheckOps, MatmulWithTransposedWeight) {
  Property("MatmulTransposedWeight", 20, [](Generator& gen) {
    int64_t m = RandInt(gen, 1, 4), k = RandInt(gen, 2, 5), n = RandInt(gen, 2, 5);
    Shape x = {m, k};
    if (gen.Below(3) == 0) x.insert(x.begin(), RandInt(gen, 2, 3));
    return std::make_pair(std::vector<InputSpec>{{x}, {{n, k}}},
                          OpFn([](const std::vector<Tensor>& t) {
                            return Matmul(t[0], Transpose(t[1], 0, 1));
                          }));
  });
}

// ---------------------------------------------------------------- convolution
TEST(GradcheckOps, Conv1d) {
  Property("Conv1d", 30, [](Generator& gen) {
    int64_t n = RandInt(gen, 1, 2), cin = RandInt(gen, 1, 3), cout = RandInt(gen, 1, 3);
    int64_t k = RandInt(gen, 1, 5);
    Conv1dOptions o;
    o.stride = RandInt(gen, 1, 3);
    o.pad_left = RandInt(gen, 0, 3);
    o.pad_right = RandInt(gen, 0, 4);
    int64_t w = RandInt(gen, std::max<int64_t>(1, k - o.pad_left - o.pad_right), 7);
    bool bias = gen.Uniform() < 0.7;
    std::vector<InputSpec> specs = {{{n, cin, w}}, {{cout, cin, k}}};
    if (bias) specs.push_back({{cout}});
    return std::make_pair(specs, OpFn([=](const std::vector<Tensor>& x) {
                            return Conv1d(x[0], x[1], bias ? x[2] : Tensor(), o);
                          }));
  });
}

TEST(GradcheckOps, Conv2d) {
  Property("Conv2d", 30, [](Generator& gen) {
    int64_t n = RandInt(gen, 1, 2), cin = RandInt(gen, 1, 3), cout = RandInt(gen, 1, 3);
    int64_t kh = RandInt(gen, 1, 5), kw = RandInt(gen, 1, 5);
    Conv2dOptions o;
    o.stride_h = RandInt(gen, 1, 3);
    o.stride_w = RandInt(gen, 1, 3);
    o.pad_top = RandInt(gen, 0, 2);
    o.pad_bottom = RandInt(gen, 0, 3);
    o.pad_left = RandInt(gen, 0, 2);
    o.pad_right = RandInt(gen, 0, 3);
    int64_t h = RandInt(gen, std::max<int64_t>(1, kh - o.pad_top - o.pad_bottom), 6);
    int64_t w = RandInt(gen, std::max<int64_t>(1, kw - o.pad_left - o.pad_right), 6);
    bool bias = gen.Uniform() < 0.7;
    std::vector<InputSpec> specs = {{{n, cin, h, w}}, {{cout, cin, kh, kw}}};
    if (bias) specs.push_back({{cout}});
    return std::make_pair(specs, OpFn([=](const std::vector<Tensor>& x) {
                            return Conv2d(x[0], x[1], bias ? x[2] : Tensor(), o);
                          }));
  });
}

TEST(GradcheckOps, MiniTorchConv) {
  // MiniTorch's conv: output as wide as the input, weight anchored left / top-left.
  Property("MiniTorchConv2d", 10, [](Generator& gen) {
    int64_t kh = RandInt(gen, 1, 4), kw = RandInt(gen, 1, 4);
    int64_t h = RandInt(gen, 1, 5), w = RandInt(gen, 1, 5);
    Conv2dOptions o;
    o.pad_bottom = kh - 1;
    o.pad_right = kw - 1;
    return std::make_pair(std::vector<InputSpec>{{{2, 2, h, w}}, {{3, 2, kh, kw}}},
                          OpFn([=](const std::vector<Tensor>& x) {
                            Tensor y = Conv2d(x[0], x[1], Tensor(), o);
                            EXPECT_EQ(y.shape(), (Shape{2, 3, h, w}));
                            return y;
                          }));
  });
}

// Conv + max pool + ReLU in one op (float64: the op composes the three there; float32's fused
// CPU path is checked against the composition bit for bit in ops_test).
TEST(GradcheckOps, Conv2dMaxPoolRelu) {
  Property("Conv2dMaxPoolRelu", 10, [](Generator& gen) {
    const int64_t kh = RandInt(gen, 1, 2), kw = RandInt(gen, 1, 3);
    Conv2dOptions o;
    o.pad_top = o.pad_bottom = 1;
    o.pad_left = RandInt(gen, 0, 1);
    // A 3x3 kernel: the conv output is (h, w + pad_left - 2); both multiples of the window.
    const int64_t h = kh * RandInt(gen, 1, 3), w = kw * RandInt(gen, 1, 3) + 2 - o.pad_left;
    return std::make_pair(std::vector<InputSpec>{{{2, 2, h, w}}, {{3, 2, 3, 3}}, {{3}}},
                          OpFn([=](const std::vector<Tensor>& x) {
                            return Conv2dMaxPoolRelu(x[0], x[1], x[2], o, kh, kw);
                          }));
  });
}

// ---------------------------------------------------------------- pooling
TEST(GradcheckOps, TileAndPooling) {
  for (int which = 0; which < 3; ++which) {
    const char* name = which == 0 ? "Tile" : which == 1 ? "AvgPool2d" : "MaxPool2d";
    Property(name, 20, [which](Generator& gen) {
      int64_t kh = RandInt(gen, 1, 3), kw = RandInt(gen, 1, 3);
      Shape s = {RandInt(gen, 1, 2), RandInt(gen, 1, 2), kh * RandInt(gen, 1, 3),
                 kw * RandInt(gen, 1, 3)};
      return std::make_pair(std::vector<InputSpec>{{s, -10, 10}},
                            OpFn([=](const std::vector<Tensor>& x) {
                              if (which == 0) return Tile(x[0], kh, kw);
                              if (which == 1) return AvgPool2d(x[0], kh, kw);
                              return MaxPool2d(x[0], kh, kw);
                            }));
    });
  }
}

// ---------------------------------------------------------------- heads and losses
TEST(GradcheckOps, SoftmaxAndLogSoftmax) {
  for (bool log : {false, true}) {
    Property(log ? "LogSoftmax" : "Softmax", 25, [log](Generator& gen) {
      Shape s = RandomShape(gen, 1, 4, 4);
      int64_t dim = RandInt(gen, 0, s.size() - 1);
      return std::make_pair(std::vector<InputSpec>{{s, -5, 5}},
                            OpFn([=](const std::vector<Tensor>& x) {
                              return log ? LogSoftmax(x[0], dim) : Softmax(x[0], dim);
                            }));
    });
  }
}

TEST(GradcheckOps, Dropout) {
  Property("Dropout", 20, [](Generator& gen) {
    Shape s = RandomShape(gen, 1, 4, 4);
    const double rates[] = {0.0, 0.25, 0.5, 0.9, 1.0};
    double rate = rates[gen.Below(5)];
    bool training = gen.Uniform() < 0.8;
    uint64_t seed = gen.Below(1000);
    return std::make_pair(std::vector<InputSpec>{{s}}, OpFn([=](const std::vector<Tensor>& x) {
                            Generator g(seed);  // same mask on every evaluation
                            return Dropout(x[0], rate, training, g);
                          }));
  });
}

TEST(GradcheckOps, Losses) {
  Property("NllLoss", 20, [](Generator& gen) {
    int64_t n = RandInt(gen, 1, 4), c = RandInt(gen, 2, 5);
    std::vector<int64_t> t(n);
    for (int64_t& v : t) v = gen.Below(c);
    Tensor target = Tensor::FromInt64(t, {n});
    return std::make_pair(std::vector<InputSpec>{{{n, c}, -3, 0}},
                          OpFn([=](const std::vector<Tensor>& x) { return NllLoss(x[0], target); }));
  });
  Property("CrossEntropy", 20, [](Generator& gen) {
    int64_t n = RandInt(gen, 1, 4), c = RandInt(gen, 2, 5);
    std::vector<int64_t> t(n);
    for (int64_t& v : t) v = gen.Below(c);
    Tensor target = Tensor::FromInt64(t, {n});
    return std::make_pair(std::vector<InputSpec>{{{n, c}, -4, 4}}, OpFn([=](const std::vector<Tensor>& x) {
                            return CrossEntropy(x[0], target);
                          }));
  });
  Property("BinaryCrossEntropy", 20, [](Generator& gen) {
    Shape s = RandomShape(gen, 1, 2, 4);
    return std::make_pair(std::vector<InputSpec>{{s, 0.05, 0.95}, {s, 0, 1}},
                          OpFn([](const std::vector<Tensor>& x) {
                            return BinaryCrossEntropy(x[0], x[1]);
                          }));
  });
  Property("BinaryCrossEntropyWithLogits", 20, [](Generator& gen) {
    Shape s = RandomShape(gen, 1, 2, 4);
    return std::make_pair(std::vector<InputSpec>{{s, -6, 6}, {s, 0, 1}},
                          OpFn([](const std::vector<Tensor>& x) {
                            return BinaryCrossEntropyWithLogits(x[0], x[1]);
                          }));
  });
}

TEST(GradcheckOps, Embedding) {
  Property("Embedding", 20, [](Generator& gen) {
    int64_t v = RandInt(gen, 1, 6), d = RandInt(gen, 1, 4);
    Shape ids_shape = RandomShape(gen, 1, 2, 4);
    std::vector<int64_t> ids(NumElements(ids_shape));
    for (int64_t& i : ids) i = gen.Below(v);  // repeats are likely: they must accumulate
    Tensor idt = Tensor::FromInt64(ids, ids_shape);
    return std::make_pair(std::vector<InputSpec>{{{v, d}}},
                          OpFn([=](const std::vector<Tensor>& x) { return Embedding(x[0], idt); }));
  });
}

// ---------------------------------------------------------------- views and copies
TEST(GradcheckOps, Views) {
  Property("Permute+Reshape", 20, [](Generator& gen) {
    Shape s = RandomShape(gen, 2, 4, 3);
    std::vector<int64_t> perm(s.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
    for (size_t i = perm.size() - 1; i > 0; --i) std::swap(perm[i], perm[gen.Below(i + 1)]);
    return std::make_pair(std::vector<InputSpec>{{s}}, OpFn([=](const std::vector<Tensor>& x) {
                            // Multiply so the output is not a plain view of the input.
                            return Mul(Reshape(Permute(x[0], perm), {-1}),
                                       Reshape(Permute(x[0], perm), {-1}));
                          }));
  });
  Property("Transpose+Flatten", 15, [](Generator& gen) {
    Shape s = RandomShape(gen, 2, 4, 3);
    return std::make_pair(std::vector<InputSpec>{{s}}, OpFn([](const std::vector<Tensor>& x) {
                            return Exp(Flatten(Transpose(x[0], 0, -1), 1));
                          }));
  });
  Property("Expand", 15, [](Generator& gen) {
    Shape s = RandomShape(gen, 1, 3, 3);
    Shape big = s;
    big.insert(big.begin(), RandInt(gen, 1, 3));
    return std::make_pair(std::vector<InputSpec>{{s}}, OpFn([=](const std::vector<Tensor>& x) {
                            return Mul(Expand(x[0], big), Expand(x[0], big));
                          }));
  });
  Property("Narrow", 20, [](Generator& gen) {
    Shape s = RandomShape(gen, 1, 4, 4);
    int64_t dim = RandInt(gen, 0, s.size() - 1);
    int64_t start = RandInt(gen, 0, s[dim] - 1);
    int64_t len = RandInt(gen, 1, s[dim] - start);
    return std::make_pair(std::vector<InputSpec>{{s}}, OpFn([=](const std::vector<Tensor>& x) {
                            return Exp(Narrow(x[0], dim, start, len));
                          }));
  });
  Property("Unsqueeze+Squeeze", 10, [](Generator& gen) {
    Shape s = RandomShape(gen, 1, 3, 3);
    int64_t d = RandInt(gen, 0, s.size());
    return std::make_pair(std::vector<InputSpec>{{s}}, OpFn([=](const std::vector<Tensor>& x) {
                            return Squeeze(Exp(Unsqueeze(x[0], d)), d);
                          }));
  });
  Property("Cat", 15, [](Generator& gen) {
    Shape a = RandomShape(gen, 1, 3, 3);
    int64_t dim = RandInt(gen, 0, a.size() - 1);
    Shape b = a;
    b[dim] = RandInt(gen, 1, 3);
    return std::make_pair(std::vector<InputSpec>{{a}, {b}}, OpFn([=](const std::vector<Tensor>& x) {
                            return Tanh(Cat({x[0], x[1]}, dim));
                          }));
  });
  Property("Contiguous+Clone", 10, [](Generator& gen) {
    Shape s = RandomShape(gen, 1, 4, 3);
    return std::make_pair(std::vector<InputSpec>{{s}}, OpFn([](const std::vector<Tensor>& x) {
                            return Mul(Contiguous(x[0]), Clone(x[0]));
                          }));
  });
}

// A whole Module 4 network in float64, end to end through every layer type.
TEST(GradcheckOps, MiniTorchMnistNetworkComposition) {
  Property("Network", 3, [](Generator& gen) {
    int64_t n = RandInt(gen, 1, 2);
    Tensor target = Tensor::FromInt64({1, 0}, {2});
    return std::make_pair(
        std::vector<InputSpec>{{{n, 1, 8, 8}}, {{2, 1, 3, 3}, -0.5, 0.5}, {{3, 2, 3, 3}, -0.5, 0.5},
                               {{4, 12}, -0.5, 0.5}},
        OpFn([=](const std::vector<Tensor>& x) {
          Conv2dOptions o;
          o.pad_bottom = o.pad_right = 2;
          Tensor h = Relu(Conv2d(x[0], x[1], Tensor(), o));
          h = Relu(Conv2d(h, x[2], Tensor(), o));
          h = AvgPool2d(h, 4, 4);  // (n, 3, 2, 2)
          h = Flatten(h, 1);       // (n, 12)
          Tensor logits = Matmul(h, Transpose(x[3], 0, 1));
          return NllLoss(LogSoftmax(logits, 1), Narrow(target, 0, 0, n));
        }));
  });
}

// ---------------------------------------------------------------- the checker itself
// A custom op with a deliberately wrong derivative must be caught: proves the checker can fail.
Tensor SquareWithBackward(const Tensor& x, double factor) {
  Tensor out = Mul(x.Detach(), x.Detach());
  Tensor saved = x.Detach();
  return autograd::Record(out, {x}, "Square", [saved, factor](const Tensor& g) {
    return std::vector<Tensor>{Mul(g, saved * factor)};
  });
}

TEST(GradcheckChecker, AcceptsCorrectCustomGradient) {
  Generator gen(1);
  GradcheckResult r = Gradcheck([](const std::vector<Tensor>& x) { return SquareWithBackward(x[0], 2.0); },
                                {testing::RandLeaf({3, 4}, -2, 2, gen)});
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.elements_checked, 12);
}

TEST(GradcheckChecker, CatchesWrongGradient) {
  Generator gen(2);
  GradcheckResult r = Gradcheck([](const std::vector<Tensor>& x) { return SquareWithBackward(x[0], 3.0); },
                                {testing::RandLeaf({3, 4}, -2, 2, gen)});
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("gradient mismatch"), std::string::npos);
}

TEST(GradcheckChecker, CatchesSlightlyPerturbedGradient) {
  Generator gen(3);
  GradcheckResult r = Gradcheck(
      [](const std::vector<Tensor>& x) { return SquareWithBackward(x[0], 2.0 * 1.01); },
      {testing::RandLeaf({2, 3}, 0.5, 2, gen)});
  EXPECT_FALSE(r.status.ok()) << "a 1% error in the derivative must not pass";
}

TEST(GradcheckChecker, CatchesMissingBroadcastReduction) {
  // An Add whose backward forgets to sum the broadcast gradient would return the wrong shape:
  // the engine itself rejects that.
  Generator gen(4);
  Tensor b = testing::RandLeaf({1, 3}, -1, 1, gen);
  auto bad = [](const std::vector<Tensor>& x) {
    Tensor out = Add(x[0].Detach(), x[1].Detach());
    return autograd::Record(out, {x[0], x[1]}, "BadAdd", [](const Tensor& g) {
      return std::vector<Tensor>{g, g};
    });
  };
  EXPECT_THROW(Gradcheck(bad, {testing::RandLeaf({2, 3}, -1, 1, gen), b}), Error);
}

TEST(GradcheckChecker, RejectsFloat32Inputs) {
  GradcheckResult r = Gradcheck([](const std::vector<Tensor>& x) { return Exp(x[0]); },
                                {Tensor::Ones({2}, DType::kFloat32)});
  EXPECT_FALSE(r.status.ok());
}

class Summary : public ::testing::Environment {
 public:
  void TearDown() override {
    std::printf("gradient-check cases: %lld, elements checked: %lld\n",
                static_cast<long long>(g_cases), static_cast<long long>(g_elements));
  }
};
const auto* const kSummary = ::testing::AddGlobalTestEnvironment(new Summary);

}  // namespace
}  // namespace mt
