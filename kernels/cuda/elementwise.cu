// Elementwise launchers: the plans in elementwise_body.h run on the GPU.
#include "kernels/cuda/device_exec.cuh"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/elementwise_body.h"

namespace mt::kernels::cuda {

template <typename T>
void Unary(const Context& ctx, UnaryOp op, int ndim, const int64_t* shape, const T* in,
           const int64_t* in_strides, T* out) {
  DeviceExec ex(ctx);
  UnaryImpl(ex, op, ndim, shape, in, in_strides, out);
}

template <typename T>
void Binary(const Context& ctx, BinaryOp op, int ndim, const int64_t* shape, const T* a,
            const int64_t* a_strides, const T* b, const int64_t* b_strides, T* out) {
  DeviceExec ex(ctx);
  BinaryImpl(ex, op, ndim, shape, a, a_strides, b, b_strides, out);
}

void StridedCopy(const Context& ctx, size_t elem_size, int ndim, const int64_t* shape,
                 const void* in, const int64_t* in_strides, void* out) {
  DeviceExec ex(ctx);
  StridedCopyImpl(ex, elem_size, ndim, shape, in, in_strides, out);
}

template <typename From, typename To>
void Cast(const Context& ctx, int ndim, const int64_t* shape, const From* in,
          const int64_t* in_strides, To* out) {
  DeviceExec ex(ctx);
  CastImpl(ex, ndim, shape, in, in_strides, out);
}

void CopyIntoSlice(const Context& ctx, size_t elem_size, int64_t outer, int64_t size, int64_t inner,
                   int64_t start, int64_t length, const void* src, void* dst) {
  DeviceExec ex(ctx);
  CopyIntoSliceImpl(ex, elem_size, outer, size, inner, start, length, src, dst);
}

template <typename T>
void Fill(const Context& ctx, T* out, int64_t n, T value) {
  DeviceExec ex(ctx);
  FillImpl(ex, out, n, value);
}

#define MT_FLOAT(T)                                                                                \
  template void Unary<T>(const Context&, UnaryOp, int, const int64_t*, const T*, const int64_t*,   \
                         T*);                                                                      \
  template void Binary<T>(const Context&, BinaryOp, int, const int64_t*, const T*, const int64_t*, \
                          const T*, const int64_t*, T*);
MT_FLOAT(float)
MT_FLOAT(double)
#undef MT_FLOAT

#define MT_ALL(T) template void Fill<T>(const Context&, T*, int64_t, T);
MT_ALL(float)
MT_ALL(double)
MT_ALL(int64_t)
#undef MT_ALL

#define MT_CAST(F, T) \
  template void Cast<F, T>(const Context&, int, const int64_t*, const F*, const int64_t*, T*);
#define MT_CAST_FROM(F) MT_CAST(F, float) MT_CAST(F, double) MT_CAST(F, int64_t)
MT_CAST_FROM(float)
MT_CAST_FROM(double)
MT_CAST_FROM(int64_t)
#undef MT_CAST_FROM
#undef MT_CAST

}  // namespace mt::kernels::cuda
