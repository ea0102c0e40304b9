// Elementwise kernel bodies and launch plans (see body.h): strided unary/binary with
// broadcasting (comparisons and relu-backward included), fill, strided copy, cast,
// copy-into-slice. One thread per output element in a grid-stride loop; outputs dense, so
// writes are coalesced; dense inputs are read coalesced too after dim merging (strided.h).
#ifndef MT_KERNELS_CUDA_ELEMENTWISE_BODY_H_
#define MT_KERNELS_CUDA_ELEMENTWISE_BODY_H_

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "kernels/cuda/body.h"
#include "kernels/cuda/math.h"
#include "kernels/cuda/strided.h"
#include "kernels/op_params.h"

namespace mt::kernels::cuda {

// out (numel) = op(in strided)
template <typename T>
struct UnaryOpBody {
  Strided<1> walk;
  UnaryOp op;
  const T* in;
  T* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t i = GlobalThread(t); i < walk.numel; i += GlobalStride(t)) {
      int64_t off[1];
      StridedOffsets(walk, i, off);
      out[i] = ApplyUnary(op, in[off[0]]);
    }
  }
};

// out (numel) = op(a strided, b strided)
template <typename T>
struct BinaryOpBody {
  Strided<2> walk;
  BinaryOp op;
  const T* a;
  const T* b;
  T* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t i = GlobalThread(t); i < walk.numel; i += GlobalStride(t)) {
      int64_t off[2];
      StridedOffsets(walk, i, off);
      out[i] = ApplyBinary(op, a[off[0]], b[off[1]]);
    }
  }
};

// out (numel) = To(double(in strided)), as the CPU's Cast. Not the strided copy (CopyOpBody):
// a round trip through double would not keep 8-byte bit patterns.
template <typename From, typename To>
struct CastOpBody {
  Strided<1> walk;
  const From* in;
  To* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t i = GlobalThread(t); i < walk.numel; i += GlobalStride(t)) {
      int64_t off[1];
      StridedOffsets(walk, i, off);
      out[i] = static_cast<To>(static_cast<double>(in[off[0]]));
    }
  }
};

// out (numel) = in strided, element by element as the unsigned integer U of the element size.
template <typename U>
struct CopyOpBody {
  Strided<1> walk;
  const U* in;
  U* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t i = GlobalThread(t); i < walk.numel; i += GlobalStride(t)) {
      int64_t off[1];
      StridedOffsets(walk, i, off);
      out[i] = in[off[0]];
    }
  }
};

// out (n) = value
template <typename T>
struct FillOpBody {
  T* out;
  int64_t n;
  T value;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t i = GlobalThread(t); i < n; i += GlobalStride(t)) out[i] = value;
  }
};

// dst (outer, size, inner)[:, start + j, :] = src (outer, length, inner)[:, j, :]
template <typename U>
struct CopyIntoSliceOpBody {
  int64_t outer, size, inner, start, length;
  const U* src;
  U* dst;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    const int64_t n = outer * length * inner;
    for (int64_t i = GlobalThread(t); i < n; i += GlobalStride(t)) {
      const int64_t o = i / (length * inner);
      const int64_t r = i - o * (length * inner);  // j * inner + k
      dst[(o * size + start) * inner + r] = src[i];
    }
  }
};

// ---------------------------------------------------------------- launch plans
template <typename Exec, typename T>
void UnaryImpl(Exec& ex, UnaryOp op, int ndim, const int64_t* shape, const T* in,
               const int64_t* in_strides, T* out) {
  const int64_t* strides[1] = {in_strides};
  UnaryOpBody<T> body{MakeStrided<1>(ndim, shape, strides), op, in, out};
  if (body.walk.numel == 0) return;
  ex.Launch(GridFor(body.walk.numel), kBlock, 0, body);
}

template <typename Exec, typename T>
void BinaryImpl(Exec& ex, BinaryOp op, int ndim, const int64_t* shape, const T* a,
                const int64_t* a_strides, const T* b, const int64_t* b_strides, T* out) {
  const int64_t* strides[2] = {a_strides, b_strides};
  BinaryOpBody<T> body{MakeStrided<2>(ndim, shape, strides), op, a, b, out};
  if (body.walk.numel == 0) return;
  ex.Launch(GridFor(body.walk.numel), kBlock, 0, body);
}

template <typename Exec, typename From, typename To>
void CastImpl(Exec& ex, int ndim, const int64_t* shape, const From* in, const int64_t* in_strides,
              To* out) {
  const int64_t* strides[1] = {in_strides};
  CastOpBody<From, To> body{MakeStrided<1>(ndim, shape, strides), in, out};
  if (body.walk.numel == 0) return;
  ex.Launch(GridFor(body.walk.numel), kBlock, 0, body);
}

template <typename Exec, typename U>
void StridedCopyAs(Exec& ex, int ndim, const int64_t* shape, const void* in,
                   const int64_t* in_strides, void* out) {
  const int64_t* strides[1] = {in_strides};
  CopyOpBody<U> body{MakeStrided<1>(ndim, shape, strides), static_cast<const U*>(in),
                     static_cast<U*>(out)};
  if (body.walk.numel == 0) return;
  ex.Launch(GridFor(body.walk.numel), kBlock, 0, body);
}

// Any element type of 1, 2, 4 or 8 bytes, copied as an unsigned integer of that size.
template <typename Exec>
void StridedCopyImpl(Exec& ex, size_t elem_size, int ndim, const int64_t* shape, const void* in,
                     const int64_t* in_strides, void* out) {
  switch (elem_size) {
    case 1:
      return StridedCopyAs<Exec, uint8_t>(ex, ndim, shape, in, in_strides, out);
    case 2:
      return StridedCopyAs<Exec, uint16_t>(ex, ndim, shape, in, in_strides, out);
    case 4:
      return StridedCopyAs<Exec, uint32_t>(ex, ndim, shape, in, in_strides, out);
    case 8:
      return StridedCopyAs<Exec, uint64_t>(ex, ndim, shape, in, in_strides, out);
  }
  throw std::invalid_argument("StridedCopy: element size must be 1, 2, 4 or 8 bytes");
}

template <typename Exec, typename T>
void FillImpl(Exec& ex, T* out, int64_t n, T value) {
  if (n <= 0) return;
  ex.Launch(GridFor(n), kBlock, 0, FillOpBody<T>{out, n, value});
}

template <typename Exec, typename U>
void CopyIntoSliceAs(Exec& ex, int64_t outer, int64_t size, int64_t inner, int64_t start,
                     int64_t length, const void* src, void* dst) {
  const int64_t n = outer * length * inner;
  if (n <= 0) return;
  ex.Launch(GridFor(n), kBlock, 0,
            CopyIntoSliceOpBody<U>{outer, size, inner, start, length, static_cast<const U*>(src),
                                   static_cast<U*>(dst)});
}

template <typename Exec>
void CopyIntoSliceImpl(Exec& ex, size_t elem_size, int64_t outer, int64_t size, int64_t inner,
                       int64_t start, int64_t length, const void* src, void* dst) {
  switch (elem_size) {
    case 1:
      return CopyIntoSliceAs<Exec, uint8_t>(ex, outer, size, inner, start, length, src, dst);
    case 2:
      return CopyIntoSliceAs<Exec, uint16_t>(ex, outer, size, inner, start, length, src, dst);
    case 4:
      return CopyIntoSliceAs<Exec, uint32_t>(ex, outer, size, inner, start, length, src, dst);
    case 8:
      return CopyIntoSliceAs<Exec, uint64_t>(ex, outer, size, inner, start, length, src, dst);
  }
  throw std::invalid_argument("CopyIntoSlice: element size must be 1, 2, 4 or 8 bytes");
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_ELEMENTWISE_BODY_H_
