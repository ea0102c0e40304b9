// Dtype dispatch shared by the backends' kernel-table entries (backends/cpu.cc, backends/cuda.cc),
// so that each backend adapts only its own launchers. Not part of the engine's public API.
#ifndef MT_ENGINE_BACKENDS_DTYPE_DISPATCH_H_
#define MT_ENGINE_BACKENDS_DTYPE_DISPATCH_H_

#include <cstdint>

#include "engine/tensor.h"

namespace mt::dispatch::backends {

// Calls f(T{}) with T = float, double or int64_t according to dtype (every dtype the engine has;
// float-only ops use internal::DispatchFloat, which names the op in its error).
template <typename F>
void DispatchAll(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32:
      return f(float{});
    case DType::kFloat64:
      return f(double{});
    case DType::kInt64:
      return f(int64_t{});
  }
}

}  // namespace mt::dispatch::backends

#endif  // MT_ENGINE_BACKENDS_DTYPE_DISPATCH_H_
