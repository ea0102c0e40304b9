// Helpers shared by the ops_*.cc files; not part of the engine's public API.
#ifndef MT_ENGINE_OPS_INTERNAL_H_
#define MT_ENGINE_OPS_INTERNAL_H_

#include <utility>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace mt::internal {

// Calls f(T{}) with T = float or double according to dtype.
template <typename F>
decltype(auto) DispatchFloat(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::kFloat32:
      return f(float{});
    case DType::kFloat64:
      return f(double{});
    default:
      throw Error(absl::StrCat(op, " needs float32 or float64 data, got ", DTypeName(dtype)));
  }
}

// Dense row-major data for a kernel, outside the autograd graph (x itself when already dense).
Tensor Dense(const Tensor& x);

// A dense copy of x's layout on x's device (no graph), through the dispatched strided copy.
void StridedCopyInto(const Tensor& x, const Tensor& out);

// Checks that a and b live on one device (op names the caller); for ops whose operands differ
// in dtype (ids, targets), where CheckSameKind does not apply.
inline void CheckSameDevice(const Tensor& a, const Tensor& b, const char* op) {
  MT_CHECK(a.device() == b.device(), op, ": tensors are on different devices (",
           a.device().ToString(), " vs ", b.device().ToString(), "); move one with To()");
}

// Normalises a possibly negative dim for a tensor with ndim dims (op names the caller).
int64_t WrapDim(int64_t dim, int64_t ndim, const char* op);

// Views x as (outer, n, inner) around dim d: returns {outer, n, inner}.
std::array<int64_t, 3> SplitAt(const Shape& shape, int64_t d);

}  // namespace mt::internal

#endif  // MT_ENGINE_OPS_INTERNAL_H_
