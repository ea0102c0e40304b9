// Reductions (sum, mean, max, argmax) and one-hot.
#include "engine/ops_internal.h"

namespace mt {

using internal::Dense;
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
  Tensor out = Tensor::Empty({}, x.dtype(), x.device());
  dispatch::Run<dispatch::SumDimKernel>(x.device(), x.dtype(), xd.raw_data(), int64_t{1}, x.numel(),
                                        int64_t{1}, out.raw_data());
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
  Tensor out = Tensor::Empty(ReducedShape(x.shape(), d, keepdim), x.dtype(), x.device());
  dispatch::Run<dispatch::SumDimKernel>(x.device(), x.dtype(), xd.raw_data(), outer, n, inner,
                                        out.raw_data());
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
  Tensor values = Tensor::Empty(shape, x.dtype(), x.device());
  Tensor indices = Tensor::Empty(shape, DType::kInt64, x.device());
  dispatch::Run<dispatch::MaxDimKernel>(x.device(), x.dtype(), xd.raw_data(), outer, n, inner,
                                        values.raw_data(), indices.data<int64_t>());
  return {values, indices};
}
}  // namespace

Tensor Max(const Tensor& x, int64_t dim, bool keepdim) {
  int64_t d = WrapDim(dim, x.dim(), "Max");
  auto [values, indices] = MaxImpl(x, d, keepdim, "Max");
  auto [outer, n, inner] = SplitAt(x.shape(), d);
  return autograd::Record(
      values, {x}, "Max",
      // Structured bindings by init-capture (implicit capture of them is C++20; clang refuses).
      [=, indices = indices, outer = outer, n = n, inner = inner, in_shape = x.shape(),
       dtype = x.dtype()](const Tensor& g) {
        Tensor gd = Dense(g);
        Tensor gin = Tensor::Empty(in_shape, dtype, gd.device());
        dispatch::Run<dispatch::MaxDimBackwardKernel>(gd.device(), dtype, gd.raw_data(),
                                                      indices.data<int64_t>(), outer, n, inner,
                                                      gin.raw_data());
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
  Tensor idd = Dense(ids);
  const dispatch::IndexError bad = dispatch::Run<dispatch::IndexCheckKernel>(
      ids.device(), idd.data<int64_t>(), idd.numel(), num_classes);
  MT_CHECK(bad.position < 0, "OneHot: id ", bad.value, " at position ", bad.position,
           " is outside [0, ", num_classes, ")");
  Shape shape = ids.shape();
  shape.push_back(num_classes);
  Tensor out = Tensor::Empty(shape, dtype, ids.device());
  if (out.numel() > 0) {
    dispatch::Run<dispatch::OneHotKernel>(ids.device(), dtype, idd.data<int64_t>(), idd.numel(),
                                          num_classes, out.raw_data());
  }
  return out;
}

}  // namespace mt
