// Elementwise CUDA kernels (kernels/cpu/elementwise.h's set, same parameters): strided
// unary/binary with broadcasting (stride 0), fill, strided copy, cast, copy-into-slice.
// Pointers are device memory; work is queued on ctx.stream (a cudaStream_t) and not waited for.
// Errors throw CudaError (check.h) or std::invalid_argument.
#ifndef MT_KERNELS_CUDA_ELEMENTWISE_H_
#define MT_KERNELS_CUDA_ELEMENTWISE_H_

#include <cstddef>
#include <cstdint>

#include "kernels/context.h"
#include "kernels/op_params.h"

namespace mt::kernels::cuda {

// out[i] = op(in[i]).  in: strided view of shape (ndim dims)  out: prod(shape), dense
template <typename T>
void Unary(const Context& ctx, UnaryOp op, int ndim, const int64_t* shape, const T* in,
           const int64_t* in_strides, T* out);

// out[i] = op(a[i], b[i]).  a, b: strided (0 = broadcast)  out: prod(shape), dense
template <typename T>
void Binary(const Context& ctx, BinaryOp op, int ndim, const int64_t* shape, const T* a,
            const int64_t* a_strides, const T* b, const int64_t* b_strides, T* out);

// Dense copy of a strided view; elem_size 1, 2, 4 or 8 bytes.  out: prod(shape)
void StridedCopy(const Context& ctx, size_t elem_size, int ndim, const int64_t* shape,
                 const void* in, const int64_t* in_strides, void* out);

// out[i] = To(double(in[i])). From, To: float, double, int64_t.  out: prod(shape), dense
template <typename From, typename To>
void Cast(const Context& ctx, int ndim, const int64_t* shape, const From* in,
          const int64_t* in_strides, To* out);

// dst (outer, size, inner)[:, start:start+length, :] = src (outer, length, inner)
void CopyIntoSlice(const Context& ctx, size_t elem_size, int64_t outer, int64_t size, int64_t inner,
                   int64_t start, int64_t length, const void* src, void* dst);

// out[i] = value for i < n. T: float, double, int64_t.  out: (n)
template <typename T>
void Fill(const Context& ctx, T* out, int64_t n, T value);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_ELEMENTWISE_H_
