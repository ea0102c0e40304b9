// Elementwise ops with numpy broadcasting, and their derivative rules.
#include "engine/ops_internal.h"

namespace mt {
namespace {

using kernels::BinaryOp;
using kernels::UnaryOp;

// Strides of x seen as `out_shape` (right-aligned; 0 where x is broadcast).
Shape BroadcastStrides(const Tensor& x, const Shape& out_shape) {
  Shape strides(out_shape.size(), 0);
  const size_t lead = out_shape.size() - x.dim();
  for (size_t i = lead; i < out_shape.size(); ++i) {
    strides[i] = x.shape()[i - lead] == 1 ? 0 : x.strides()[i - lead];
  }
  return strides;
}

// The forward computation only; no graph.
Tensor BinaryRaw(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  CheckSameKind(a, b, name);
  CheckFloating(a, name);
  Shape shape = BroadcastShapes(a.shape(), b.shape());
  Shape sa = BroadcastStrides(a, shape), sb = BroadcastStrides(b, shape);
  Tensor out = Tensor::Empty(shape, a.dtype(), a.device());
  if (out.numel() == 0) return out;
  dispatch::Run<dispatch::BinaryKernel>(a.device(), a.dtype(), op, static_cast<int>(shape.size()),
                                        shape.data(), a.raw_data(), sa.data(), b.raw_data(),
                                        sb.data(), out.raw_data());
  return out;
}

Tensor UnaryRaw(UnaryOp op, const Tensor& x, const char* name) {
  CheckFloating(x, name);
  Tensor out = Tensor::Empty(x.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  dispatch::Run<dispatch::UnaryKernel>(x.device(), x.dtype(), op, static_cast<int>(x.dim()),
                                       x.shape().data(), x.raw_data(), x.strides().data(),
                                       out.raw_data());
  return out;
}

Tensor ScalarLike(const Tensor& x, double v) { return Tensor::Scalar(v, x.dtype(), x.device()); }

}  // namespace

Tensor Add(const Tensor& a, const Tensor& b) {
  Tensor out = BinaryRaw(BinaryOp::kAdd, a, b, "Add");
  return autograd::Record(out, {a, b}, "Add", [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return std::vector<Tensor>{SumTo(g, sa), SumTo(g, sb)};
  });
}

Tensor Sub(const Tensor& a, const Tensor& b) {
  Tensor out = BinaryRaw(BinaryOp::kSub, a, b, "Sub");
  return autograd::Record(out, {a, b}, "Sub", [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return std::vector<Tensor>{SumTo(g, sa), SumTo(Neg(g), sb)};
  });
}

Tensor Mul(const Tensor& a, const Tensor& b) {
  Tensor out = BinaryRaw(BinaryOp::kMul, a, b, "Mul");
  bool need_a = autograd::NeedsGrad(a), need_b = autograd::NeedsGrad(b);
  // Save only the factor each gradient needs.
  Tensor saved_a = need_b ? a.Detach() : Tensor(), saved_b = need_a ? b.Detach() : Tensor();
  return autograd::Record(out, {a, b}, "Mul", [=, sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return std::vector<Tensor>{need_a ? SumTo(Mul(g, saved_b), sa) : Tensor(),
                               need_b ? SumTo(Mul(g, saved_a), sb) : Tensor()};
  });
}

Tensor Div(const Tensor& a, const Tensor& b) {
  Tensor out = BinaryRaw(BinaryOp::kDiv, a, b, "Div");
  bool need_b = autograd::NeedsGrad(b);
  Tensor saved_b = b.Detach(), saved_out = need_b ? out.Detach() : Tensor();
  return autograd::Record(out, {a, b}, "Div", [=, sa = a.shape(), sb = b.shape()](const Tensor& g) {
    Tensor ga = Div(g, saved_b);
    // d(a/b)/db = -(a/b)/b = -out/b
    return std::vector<Tensor>{SumTo(ga, sa),
                               need_b ? SumTo(Neg(Mul(ga, saved_out)), sb) : Tensor()};
  });
}

Tensor Neg(const Tensor& x) {
  Tensor out = UnaryRaw(UnaryOp::kNeg, x, "Neg");
  return autograd::Record(out, {x}, "Neg",
                          [](const Tensor& g) { return std::vector<Tensor>{Neg(g)}; });
}

Tensor Exp(const Tensor& x) {
  Tensor out = UnaryRaw(UnaryOp::kExp, x, "Exp");
  Tensor saved = out.Detach();  // detached: the closure must not own its own output's node
  return autograd::Record(out, {x}, "Exp",
                          [saved](const Tensor& g) { return std::vector<Tensor>{Mul(g, saved)}; });
}

Tensor Log(const Tensor& x) {
  Tensor out = UnaryRaw(UnaryOp::kLog, x, "Log");
  Tensor saved = x.Detach();
  return autograd::Record(out, {x}, "Log",
                          [saved](const Tensor& g) { return std::vector<Tensor>{Div(g, saved)}; });
}

Tensor Relu(const Tensor& x) {
  Tensor out = UnaryRaw(UnaryOp::kRelu, x, "Relu");
  Tensor saved = x.Detach();
  return autograd::Record(out, {x}, "Relu", [saved](const Tensor& g) {
    // The derivative at exactly 0 is taken as 0, as in PyTorch.
    return std::vector<Tensor>{BinaryRaw(BinaryOp::kReluBackward, g, saved, "ReluBackward")};
  });
}

Tensor Sigmoid(const Tensor& x) {
  Tensor out = UnaryRaw(UnaryOp::kSigmoid, x, "Sigmoid");
  Tensor s = out.Detach();
  return autograd::Record(out, {x}, "Sigmoid", [s](const Tensor& g) {
    return std::vector<Tensor>{Mul(g, Mul(s, Sub(ScalarLike(s, 1.0), s)))};
  });
}

Tensor Tanh(const Tensor& x) {
  Tensor out = UnaryRaw(UnaryOp::kTanh, x, "Tanh");
  Tensor y = out.Detach();
  return autograd::Record(out, {x}, "Tanh", [y](const Tensor& g) {
    return std::vector<Tensor>{Mul(g, Sub(ScalarLike(y, 1.0), Mul(y, y)))};
  });
}

Tensor Softplus(const Tensor& x) {
  Tensor out = UnaryRaw(UnaryOp::kSoftplus, x, "Softplus");
  Tensor saved = x.Detach();
  return autograd::Record(out, {x}, "Softplus", [saved](const Tensor& g) {
    return std::vector<Tensor>{Mul(g, Sigmoid(saved))};
  });
}

Tensor Sqrt(const Tensor& x) {
  Tensor out = UnaryRaw(UnaryOp::kSqrt, x, "Sqrt");
  Tensor y = out.Detach();
  return autograd::Record(out, {x}, "Sqrt", [y](const Tensor& g) {
    return std::vector<Tensor>{Div(g, Mul(ScalarLike(y, 2.0), y))};
  });
}

Tensor Lt(const Tensor& a, const Tensor& b) { return BinaryRaw(BinaryOp::kLt, a, b, "Lt"); }
Tensor Eq(const Tensor& a, const Tensor& b) { return BinaryRaw(BinaryOp::kEq, a, b, "Eq"); }
Tensor Gt(const Tensor& a, const Tensor& b) { return BinaryRaw(BinaryOp::kGt, a, b, "Gt"); }

Tensor operator+(const Tensor& a, const Tensor& b) { return Add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return Sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return Mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return Div(a, b); }
Tensor operator-(const Tensor& x) { return Neg(x); }
Tensor operator+(const Tensor& a, double b) { return Add(a, ScalarLike(a, b)); }
Tensor operator-(const Tensor& a, double b) { return Sub(a, ScalarLike(a, b)); }
Tensor operator*(const Tensor& a, double b) { return Mul(a, ScalarLike(a, b)); }
Tensor operator/(const Tensor& a, double b) { return Div(a, ScalarLike(a, b)); }
Tensor operator+(double a, const Tensor& b) { return Add(ScalarLike(b, a), b); }
Tensor operator-(double a, const Tensor& b) { return Sub(ScalarLike(b, a), b); }
Tensor operator*(double a, const Tensor& b) { return Mul(ScalarLike(b, a), b); }

}  // namespace mt
