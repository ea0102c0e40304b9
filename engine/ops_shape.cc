// Shape ops: views that share storage, and the copies that change layout.
#include <algorithm>
#include <numeric>

#include "engine/ops_internal.h"

namespace mt {
namespace internal {

void StridedCopyInto(const Tensor& x, const Tensor& out) {
  if (x.numel() == 0) return;
  dispatch::Run<dispatch::StridedCopyKernel>(x.device(), ElementSize(x.dtype()),
                                             static_cast<int>(x.dim()), x.shape().data(),
                                             x.raw_data(), x.strides().data(), out.raw_data());
}

Tensor Dense(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = Tensor::Empty(x.shape(), x.dtype(), x.device());
  StridedCopyInto(x, out);
  return out;
}

int64_t WrapDim(int64_t dim, int64_t ndim, const char* op) {
  MT_CHECK((dim >= -ndim && dim < ndim) || (ndim == 0 && (dim == 0 || dim == -1)), op, ": dim ",
           dim, " is out of range for a ", ndim, "-d tensor (valid: ", -ndim, "..", ndim - 1, ")");
  return dim < 0 ? dim + ndim : dim;
}

std::array<int64_t, 3> SplitAt(const Shape& shape, int64_t d) {
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= shape[i];
  for (size_t i = d + 1; i < shape.size(); ++i) inner *= shape[i];
  return {outer, shape[d], inner};
}

}  // namespace internal

using internal::Dense;
using internal::WrapDim;

Shape BroadcastShapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    MT_CHECK(da == db || da == 1 || db == 1, "cannot broadcast shapes ", ShapeToString(a), " and ",
             ShapeToString(b), ": at dim ", i, " (aligned right) sizes ", da, " and ", db,
             " differ and neither is 1");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor Permute(const Tensor& x, const std::vector<int64_t>& dims) {
  const int64_t n = x.dim();
  MT_CHECK(static_cast<int64_t>(dims.size()) == n, "Permute: got ", dims.size(),
           " dims for a tensor of shape ", ShapeToString(x.shape()), "; give a permutation of 0..",
           n - 1);
  std::vector<int64_t> perm(n);
  std::vector<bool> used(n, false);
  Shape shape(n), strides(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t d = WrapDim(dims[i], n, "Permute");
    MT_CHECK(!used[d], "Permute: dim ", d, " appears twice in ", ShapeToString(dims),
             "; give each of 0..", n - 1, " once");
    used[d] = true;
    perm[i] = d;
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  Tensor out = MakeView(x, shape, strides, x.offset());
  std::vector<int64_t> inverse(n);
  for (int64_t i = 0; i < n; ++i) inverse[perm[i]] = i;
  return autograd::Record(out, {x}, "Permute", [inverse](const Tensor& g) {
    return std::vector<Tensor>{Permute(g, inverse)};
  });
}

Tensor Transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  std::vector<int64_t> perm(x.dim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[WrapDim(dim0, x.dim(), "Transpose")], perm[WrapDim(dim1, x.dim(), "Transpose")]);
  return Permute(x, perm);
}

namespace {
Shape InferShape(const Shape& from, Shape shape, const char* op) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      MT_CHECK(infer < 0, op, ": only one size may be -1 in ", ShapeToString(shape));
      infer = static_cast<int64_t>(i);
    } else {
      MT_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " in ", ShapeToString(shape));
      known *= shape[i];
    }
  }
  int64_t total = NumElements(from);
  if (infer >= 0) {
    MT_CHECK(known > 0 && total % known == 0, op, ": cannot infer -1 in ", ShapeToString(shape),
             " for ", total, " elements (shape ", ShapeToString(from), ")");
    shape[infer] = total / known;
  }
  MT_CHECK(NumElements(shape) == total, op, ": shape ", ShapeToString(shape), " has ",
           NumElements(shape), " elements but the input ", ShapeToString(from), " has ", total);
  return shape;
}
}  // namespace

Tensor View(const Tensor& x, Shape shape) {
  shape = InferShape(x.shape(), std::move(shape), "View");
  MT_CHECK(x.is_contiguous(), "View needs contiguous data but the input of shape ",
           ShapeToString(x.shape()), " has strides ", ShapeToString(x.strides()),
           "; use Reshape (copies when needed) or Contiguous first");
  Tensor out = MakeView(x, shape, ContiguousStrides(shape), x.offset());
  Shape in_shape = x.shape();
  return autograd::Record(out, {x}, "View", [in_shape](const Tensor& g) {
    return std::vector<Tensor>{Reshape(g, in_shape)};
  });
}

Tensor Reshape(const Tensor& x, Shape shape) {
  return View(x.is_contiguous() ? x : Contiguous(x), std::move(shape));
}

Tensor Expand(const Tensor& x, const Shape& shape) {
  const size_t n = shape.size();
  MT_CHECK(n >= static_cast<size_t>(x.dim()), "Expand: cannot expand shape ",
           ShapeToString(x.shape()), " to fewer dims ", ShapeToString(shape));
  if (shape == x.shape()) return x;
  Shape strides(n, 0);
  const size_t lead = n - x.dim();
  for (size_t i = lead; i < n; ++i) {
    int64_t have = x.shape()[i - lead];
    if (have == shape[i]) {
      strides[i] = x.strides()[i - lead];
    } else {
      MT_CHECK(have == 1, "Expand: cannot expand shape ", ShapeToString(x.shape()), " to ",
               ShapeToString(shape), ": dim ", i, " has size ", have, ", which is neither 1 nor ",
               shape[i]);
      strides[i] = 0;
    }
  }
  Tensor out = MakeView(x, shape, strides, x.offset());
  Shape in_shape = x.shape();
  return autograd::Record(out, {x}, "Expand", [in_shape](const Tensor& g) {
    return std::vector<Tensor>{SumTo(g, in_shape)};
  });
}

namespace {
// Writes dense `src` (outer, length, inner) into dense `dst` (outer, size, inner) at [start, ...).
void CopyIntoNarrow(const Tensor& dst, const Tensor& src, int64_t dim, int64_t start) {
  auto [outer, size, inner] = internal::SplitAt(dst.shape(), dim);
  const int64_t length = src.shape()[dim];
  dispatch::Run<dispatch::CopyIntoSliceKernel>(dst.device(), ElementSize(dst.dtype()), outer, size,
                                               inner, start, length, src.raw_data(),
                                               dst.raw_data());
}
}  // namespace

Tensor Narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  int64_t d = WrapDim(dim, x.dim(), "Narrow");
  int64_t size = x.shape()[d];
  MT_CHECK(start >= 0 && length >= 0 && start + length <= size, "Narrow: range [", start, ", ",
           start + length, ") is outside dim ", d, " of size ", size, " (shape ",
           ShapeToString(x.shape()), ")");
  Shape shape = x.shape();
  shape[d] = length;
  Tensor out = MakeView(x, shape, x.strides(), x.offset() + start * x.strides()[d]);
  Shape in_shape = x.shape();
  DType dtype = x.dtype();
  Device device = x.device();
  return autograd::Record(out, {x}, "Narrow", [=](const Tensor& g) {
    Tensor full = Tensor::Zeros(in_shape, dtype, device);
    CopyIntoNarrow(full, Dense(g), d, start);
    return std::vector<Tensor>{full};
  });
}

Tensor Unsqueeze(const Tensor& x, int64_t dim) {
  int64_t d = WrapDim(dim, x.dim() + 1, "Unsqueeze");
  Shape shape = x.shape(), strides = x.strides();
  int64_t stride = d < x.dim() ? x.strides()[d] * x.shape()[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  Tensor out = MakeView(x, shape, strides, x.offset());
  Shape in_shape = x.shape();
  return autograd::Record(out, {x}, "Unsqueeze", [in_shape](const Tensor& g) {
    return std::vector<Tensor>{Reshape(g, in_shape)};
  });
}

Tensor Squeeze(const Tensor& x, int64_t dim) {
  int64_t d = WrapDim(dim, x.dim(), "Squeeze");
  MT_CHECK(x.shape()[d] == 1, "Squeeze: dim ", d, " of shape ", ShapeToString(x.shape()),
           " has size ", x.shape()[d], ", not 1");
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  Tensor out = MakeView(x, shape, strides, x.offset());
  Shape in_shape = x.shape();
  return autograd::Record(out, {x}, "Squeeze", [in_shape](const Tensor& g) {
    return std::vector<Tensor>{Reshape(g, in_shape)};
  });
}

Tensor Flatten(const Tensor& x, int64_t start_dim) {
  if (x.dim() == 0) return Reshape(x, {1});
  int64_t d = WrapDim(start_dim, x.dim(), "Flatten");
  Shape shape(x.shape().begin(), x.shape().begin() + d);
  shape.push_back(-1);
  if (x.numel() == 0) shape.back() = 0;
  return Reshape(x, shape);
}

Tensor Contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return Clone(x);
}

Tensor Clone(const Tensor& x) {
  Tensor out = Tensor::Empty(x.shape(), x.dtype(), x.device());
  internal::StridedCopyInto(x, out);
  return autograd::Record(out, {x}, "Clone",
                          [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor SumTo(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  MT_CHECK(x.dim() >= static_cast<int64_t>(shape.size()), "SumTo: cannot reduce shape ",
           ShapeToString(x.shape()), " to the larger ", ShapeToString(shape));
  Tensor r = x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  for (int64_t i = 0; i < lead; ++i) r = Sum(r, 0, /*keepdim=*/false);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1 && r.shape()[i] != 1) r = Sum(r, static_cast<int64_t>(i), /*keepdim=*/true);
  }
  MT_CHECK(r.shape() == shape, "SumTo: shape ", ShapeToString(x.shape()),
           " is not a broadcast of ", ShapeToString(shape));
  return r;
}

Tensor ToDType(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = Tensor::Empty(x.shape(), dtype, x.device());
  if (x.numel() > 0) {
    dispatch::Run<dispatch::CastKernel>(x.device(), x.dtype(), dtype, static_cast<int>(x.dim()),
                                        x.shape().data(), x.raw_data(), x.strides().data(),
                                        out.raw_data());
  }
  if (!x.is_floating_point() || dtype == DType::kInt64) return out;
  DType from = x.dtype();
  return autograd::Record(out, {x}, "ToDType", [from](const Tensor& g) {
    return std::vector<Tensor>{ToDType(g, from)};
  });
}

Tensor Cat(const std::vector<Tensor>& xs, int64_t dim) {
  MT_CHECK(!xs.empty(), "Cat: needs at least one tensor");
  const Tensor& first = xs[0];
  int64_t d = WrapDim(dim, first.dim(), "Cat");
  Shape shape = first.shape();
  shape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    CheckSameKind(first, xs[i], "Cat");
    bool ok = xs[i].dim() == first.dim();
    for (int64_t j = 0; ok && j < first.dim(); ++j) {
      ok = j == d || xs[i].shape()[j] == first.shape()[j];
    }
    MT_CHECK(ok, "Cat: tensor ", i, " has shape ", ShapeToString(xs[i].shape()),
             ", which differs from ", ShapeToString(first.shape()), " outside dim ", d);
    shape[d] += xs[i].shape()[d];
  }
  Tensor out = Tensor::Empty(shape, first.dtype(), first.device());
  int64_t start = 0;
  std::vector<int64_t> starts, lengths;
  for (const Tensor& x : xs) {
    CopyIntoNarrow(out, Dense(x), d, start);
    starts.push_back(start);
    lengths.push_back(x.shape()[d]);
    start += x.shape()[d];
  }
  return autograd::Record(out, xs, "Cat", [=](const Tensor& g) {
    std::vector<Tensor> grads;
    for (size_t i = 0; i < starts.size(); ++i) grads.push_back(Narrow(g, d, starts[i], lengths[i]));
    return grads;
  });
}

void CopyInto(const Tensor& dst, const Tensor& src) {
  MT_CHECK(dst.defined() && src.defined(), "CopyInto: got an undefined tensor");
  MT_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(), "CopyInto: cannot copy ",
           DTypeName(src.dtype()), " ", ShapeToString(src.shape()), " into ",
           DTypeName(dst.dtype()), " ", ShapeToString(dst.shape()),
           "; shapes and dtypes must match");
  MT_CHECK(dst.is_contiguous(), "CopyInto: the destination of shape ", ShapeToString(dst.shape()),
           " must be dense (strides ", ShapeToString(dst.strides()), ")");
  if (src.device() == dst.device()) {
    internal::StridedCopyInto(src, dst);
    return;
  }
  const Tensor host = Dense(src);
  // The copy kernel belongs to the side that is not the host (the host's own for cpu -> cpu).
  const Device side = dst.device().type != Device::Type::kCPU ? dst.device() : host.device();
  dispatch::Run<dispatch::DeviceCopyKernel>(side, dst.raw_data(), dst.device(), host.raw_data(),
                                            host.device(),
                                            static_cast<size_t>(host.numel()) *
                                                ElementSize(host.dtype()));
}

void FillInto(const Tensor& dst, double value) {
  MT_CHECK(dst.defined(), "FillInto: got an undefined tensor");
  MT_CHECK(dst.is_contiguous(), "FillInto: the destination of shape ", ShapeToString(dst.shape()),
           " must be dense (strides ", ShapeToString(dst.strides()), ")");
  if (dst.numel() == 0) return;
  dispatch::Run<dispatch::FillKernel>(dst.device(), dst.dtype(), dst.raw_data(), dst.numel(),
                                      value);
}

Tensor Tensor::To(Device device) const {
  if (this->device() == device) return *this;
  Tensor out = Tensor::Empty(shape(), dtype(), device);
  CopyInto(out, *this);
  if (!is_floating_point()) return out;
  const Device from = this->device();
  return autograd::Record(out, {*this}, "To",
                          [from](const Tensor& g) { return std::vector<Tensor>{g.To(from)}; });
}

}  // namespace mt
