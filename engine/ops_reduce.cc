// Reductions (sum, mean, max, argmax), one-hot, and batched matmul.
#include "engine/ops_internal.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/reduce.h"

namespace mt {

using internal::Dense;
using internal::DispatchFloat;
using internal::SplitAt;
using internal::WrapDim;

namespace {
Shape ReducedShape(const Shape& shape, int64_t d, bool keepdim) {
  Shape out = shape;
  if (keepdim) {
    out[d] = 1;
  } else {
    out.erase(out.begin() + d);
  }
  return out;
}
}  // namespace

Tensor Sum(const Tensor& x) {
  CheckFloating(x, "Sum");
  Tensor xd = Dense(x);
  Tensor out = Tensor::Empty({}, x.dtype());
  DispatchFloat(x.dtype(), "Sum", [&](auto t) {
    using T = decltype(t);
    kernels::cpu::SumDim<T>(xd.data<T>(), 1, x.numel(), 1, out.data<T>());
  });
  return autograd::Record(out, {x}, "Sum", [in_shape = x.shape()](const Tensor& g) {
    return std::vector<Tensor>{Expand(g, in_shape)};
  });
}

Tensor Sum(const Tensor& x, int64_t dim, bool keepdim) {
  CheckFloating(x, "Sum");
  int64_t d = WrapDim(dim, x.dim(), "Sum");
  if (x.dim() == 0) return Sum(x);
  auto [outer, n, inner] = SplitAt(x.shape(), d);
  Tensor xd = Dense(x);
  Tensor out = Tensor::Empty(ReducedShape(x.shape(), d, keepdim), x.dtype());
  DispatchFloat(x.dtype(), "Sum", [&](auto t) {
    using T = decltype(t);
    kernels::cpu::SumDim<T>(xd.data<T>(), outer, n, inner, out.data<T>());
  });
  Shape kept = ReducedShape(x.shape(), d, true);
  return autograd::Record(out, {x}, "Sum", [in_shape = x.shape(), kept](const Tensor& g) {
    return std::vector<Tensor>{Expand(Reshape(g, kept), in_shape)};
  });
}

Tensor Mean(const Tensor& x) {
  MT_CHECK(x.numel() > 0, "Mean of an empty tensor (shape ", ShapeToString(x.shape()), ")");
  return Sum(x) / static_cast<double>(x.numel());
}

Tensor Mean(const Tensor& x, int64_t dim, bool keepdim) {
  int64_t n = x.dim() == 0 ? 1 : x.size(dim);
  MT_CHECK(n > 0, "Mean over an empty dim ", dim, " of shape ", ShapeToString(x.shape()));
  return Sum(x, dim, keepdim) / static_cast<double>(n);
}

namespace {
// Shared by Max and Argmax: values and first-arg-max indices, both in the reduced shape.
std::pair<Tensor, Tensor> MaxImpl(const Tensor& x, int64_t d, bool keepdim, const char* op) {
  CheckFloating(x, op);
  MT_CHECK(x.dim() > 0 && x.shape()[d] > 0, op, " over an empty dim: shape ",
           ShapeToString(x.shape()));
  auto [outer, n, inner] = SplitAt(x.shape(), d);
  Tensor xd = Dense(x);
  Shape shape = ReducedShape(x.shape(), d, keepdim);
  Tensor values = Tensor::Empty(shape, x.dtype());
  Tensor indices = Tensor::Empty(shape, DType::kInt64);
  DispatchFloat(x.dtype(), op, [&](auto t) {
    using T = decltype(t);
    kernels::cpu::MaxDim<T>(xd.data<T>(), outer, n, inner, values.data<T>(),
                            indices.data<int64_t>());
  });
  return {values, indices};
}
}  // namespace

Tensor Max(const Tensor& x, int64_t dim, bool keepdim) {
  int64_t d = WrapDim(dim, x.dim(), "Max");
  auto [values, indices] = MaxImpl(x, d, keepdim, "Max");
  auto [outer, n, inner] = SplitAt(x.shape(), d);
  return autograd::Record(
      values, {x}, "Max", [=, in_shape = x.shape(), dtype = x.dtype()](const Tensor& g) {
        Tensor gd = Dense(g);
        Tensor gin = Tensor::Empty(in_shape, dtype);
        DispatchFloat(dtype, "MaxBackward", [&](auto t) {
          using T = decltype(t);
          kernels::cpu::MaxDimBackward<T>(gd.data<T>(), indices.data<int64_t>(), outer, n, inner,
                                          gin.data<T>());
        });
        return std::vector<Tensor>{gin};
      });
}

Tensor Argmax(const Tensor& x, int64_t dim, bool keepdim) {
  int64_t d = WrapDim(dim, x.dim(), "Argmax");
  return MaxImpl(x, d, keepdim, "Argmax").second;
}

Tensor OneHot(const Tensor& ids, int64_t num_classes, DType dtype) {
  MT_CHECK(ids.dtype() == DType::kInt64, "OneHot needs int64 class ids, got ",
           DTypeName(ids.dtype()));
  MT_CHECK(num_classes > 0, "OneHot: num_classes must be positive, got ", num_classes);
  std::vector<int64_t> v = ids.ToInt64Vector();
  Shape shape = ids.shape();
  shape.push_back(num_classes);
  std::vector<double> out(v.size() * num_classes, 0.0);
  for (size_t i = 0; i < v.size(); ++i) {
    MT_CHECK(v[i] >= 0 && v[i] < num_classes, "OneHot: id ", v[i], " at position ", i,
             " is outside [0, ", num_classes, ")");
    out[i * num_classes + v[i]] = 1.0;
  }
  return Tensor::FromVector(out, shape, dtype);
}

namespace {
// How a (batch..., rows, cols) operand is handed to BatchedGemm without copying when its layout
// allows: a single batch stride (0 = broadcast), a leading dimension, and a transpose flag.
struct GemmOperand {
  Tensor holder;  // keeps the data alive (a dense copy when the layout needed one)
  int64_t batch_stride = 0, ld = 0;
  bool trans = false;
};

GemmOperand PrepareOperand(const Tensor& t, const Shape& batch, int64_t rows, int64_t cols) {
  Shape full = batch;
  full.push_back(rows);
  full.push_back(cols);
  Tensor e = Expand(t.Detach(), full);
  const int64_t nb = static_cast<int64_t>(batch.size());
  const int64_t sr = e.strides()[nb], sc = e.strides()[nb + 1];
  GemmOperand op;
  op.holder = e;
  // One stride must describe the whole batch: all broadcast (0), or nested like a dense array.
  bool batch_ok = true;
  int64_t bstride = 0, expected = -1;
  for (int64_t i = nb - 1; i >= 0; --i) {
    if (batch[i] == 1) continue;
    if (expected < 0) {
      bstride = e.strides()[i];
      expected = bstride * batch[i];
    } else {
      batch_ok = batch_ok && e.strides()[i] == expected;
      expected *= batch[i];
    }
  }
  bool all_zero = true;
  for (int64_t i = 0; i < nb; ++i) all_zero = all_zero && (batch[i] == 1 || e.strides()[i] == 0);
  if (all_zero) bstride = 0;
  if (batch_ok || all_zero) {
    if ((sc == 1 || cols == 1) && (rows == 1 || sr >= cols)) {
      op.ld = rows == 1 ? cols : sr;
      op.batch_stride = bstride;
      return op;
    }
    if ((sr == 1 || rows == 1) && (cols == 1 || sc >= rows)) {
      op.trans = true;
      op.ld = cols == 1 ? rows : sc;
      op.batch_stride = bstride;
      return op;
    }
  }
  op.holder = Dense(e);
  op.ld = cols;
  op.batch_stride = all_zero ? 0 : rows * cols;
  return op;
}
}  // namespace

Tensor Matmul(const Tensor& a, const Tensor& b) {
  CheckSameKind(a, b, "Matmul");
  CheckFloating(a, "Matmul");
  MT_CHECK(a.dim() >= 2 && b.dim() >= 2, "Matmul needs operands with at least 2 dims, got ",
           ShapeToString(a.shape()), " and ", ShapeToString(b.shape()));
  const int64_t m = a.size(-2), k = a.size(-1), k2 = b.size(-2), n = b.size(-1);
  MT_CHECK(k == k2, "Matmul: inner sizes differ: ", ShapeToString(a.shape()), " @ ",
           ShapeToString(b.shape()), " (", k, " vs ", k2, "); a's last dim must equal b's "
           "second-to-last");
  Shape batch = BroadcastShapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                Shape(b.shape().begin(), b.shape().end() - 2));
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = Tensor::Zeros(out_shape, a.dtype());
  const int64_t nbatch = NumElements(batch);
  if (out.numel() > 0 && k > 0) {
    GemmOperand oa = PrepareOperand(a, batch, m, k), ob = PrepareOperand(b, batch, k, n);
    DispatchFloat(a.dtype(), "Matmul", [&](auto t) {
      using T = decltype(t);
      kernels::cpu::BatchedGemm<T>(nbatch, oa.trans, ob.trans, m, n, k, oa.holder.data<T>(),
                                   oa.batch_stride, oa.ld, ob.holder.data<T>(), ob.batch_stride,
                                   ob.ld, T(0), out.data<T>(), m * n, n);
    });
  }
  bool need_a = autograd::NeedsGrad(a), need_b = autograd::NeedsGrad(b);
  Tensor sa = need_b ? a.Detach() : Tensor(), sb = need_a ? b.Detach() : Tensor();
  return autograd::Record(
      out, {a, b}, "Matmul", [=, shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) {
        return std::vector<Tensor>{
            need_a ? SumTo(Matmul(g, Transpose(sb, -1, -2)), shape_a) : Tensor(),
            need_b ? SumTo(Matmul(Transpose(sa, -1, -2), g), shape_b) : Tensor()};
      });
}

}  // namespace mt
