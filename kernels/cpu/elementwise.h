// Elementwise CPU kernels on raw strided memory. No Tensor objects here: callers pass pointers,
// a shape and per-operand strides (in elements; 0 means "broadcast along this dim").
// Outputs are always dense row-major (contiguous) buffers of prod(shape) elements.
// Parallelised with OpenMP over rows (all dims but the last); serial when called inside a
// parallel region.
#ifndef MT_KERNELS_CPU_ELEMENTWISE_H_
#define MT_KERNELS_CPU_ELEMENTWISE_H_

#include <cstddef>
#include <cstdint>

#include "kernels/context.h"
#include "kernels/op_params.h"

namespace mt::kernels::cpu {

using ::mt::kernels::BinaryOp;
using ::mt::kernels::UnaryOp;

// out[i] = op(in[i]) for every multi-index i of `shape` (ndim dims; ndim == 0 is a scalar).
// in: strided by in_strides; out: contiguous, prod(shape) elements.
template <typename T>
void Unary(const Context& ctx, UnaryOp op, int ndim, const int64_t* shape, const T* in,
           const int64_t* in_strides, T* out);

// out[i] = op(a[i], b[i]); a and b strided (broadcast via stride 0), out contiguous.
template <typename T>
void Binary(const Context& ctx, BinaryOp op, int ndim, const int64_t* shape, const T* a,
            const int64_t* a_strides, const T* b, const int64_t* b_strides, T* out);

// Gathers a strided view into a contiguous buffer, for any element type of size elem_size bytes
// (4 or 8; float, double, int64). in/out are byte pointers to the first element.
void StridedCopy(const Context& ctx, size_t elem_size, int ndim, const int64_t* shape,
                 const void* in, const int64_t* in_strides, void* out);

// out[i] = To(in[i]) through double, as a value read out and written back would be (so int64
// -> float32 rounds exactly as before this was a kernel). From, To: float, double, int64_t.
// in: strided view of `shape`  out: contiguous, prod(shape) elements.
template <typename From, typename To>
void Cast(const Context& ctx, int ndim, const int64_t* shape, const From* in,
          const int64_t* in_strides, To* out);

// Writes dense src (outer, length, inner) into dense dst (outer, size, inner) at rows
// [start, start + length) of the middle dim; other rows of dst are left as they are.
// Elements are elem_size bytes.  src: (outer, length, inner)  dst: (outer, size, inner)
void CopyIntoSlice(const Context& ctx, size_t elem_size, int64_t outer, int64_t size, int64_t inner,
                   int64_t start, int64_t length, const void* src, void* dst);

// out[i] = value for i in [0, n).
// T: float, double, int64_t.
template <typename T>
void Fill(const Context& ctx, T* out, int64_t n, T value);

// y[i] += alpha * x[i] for i in [0, n) (gradient accumulation).
template <typename T>
void Axpy(const Context& ctx, int64_t n, T alpha, const T* x, T* y);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_ELEMENTWISE_H_
