// Non-overlapping 2-D pooling (window = stride, no padding) over NCHW planes: what
// MaxPool2d / AvgPool2d compute, in one pass over the input, instead of MiniTorch's
// tile + permute + copy + reduce. The kernel must divide the plane (the op checks).
#ifndef MT_KERNELS_CPU_POOL_H_
#define MT_KERNELS_CPU_POOL_H_

#include <cstdint>

#include "kernels/context.h"
#include "kernels/op_params.h"

namespace mt::kernels::cpu {

using ::mt::kernels::Pool2dShape;

// out[p, y, x] = max over the window (y*kh + i, x*kw + j); argmax[p, y, x] = i*kw + j of the
// first maximum in row-major window order (ties and NaN as MaxDim: NaN counts as the maximum).
// in: (planes, in_h, in_w)  out, argmax: (planes, in_h/kh, in_w/kw); argmax may be null.
template <typename T>
void MaxPool2dForward(const Context& ctx, const Pool2dShape& s, const T* in, T* out,
                      int64_t* argmax);

// grad_in[p, y*kh + i, x*kw + j] = grad_out[p, y, x] where argmax[p, y, x] == i*kw + j, else 0.
// grad_out, argmax: (planes, out_h, out_w)  grad_in: (planes, in_h, in_w), fully overwritten.
template <typename T>
void MaxPool2dBackward(const Context& ctx, const Pool2dShape& s, const T* grad_out,
                       const int64_t* argmax, T* grad_in);

// out[p, y, x] = mean over the window: summed in double in row-major window order, rounded to T,
// divided by T(kh * kw) -- bit for bit what Mean over Tile's window dim gives.
template <typename T>
void AvgPool2dForward(const Context& ctx, const Pool2dShape& s, const T* in, T* out);

// grad_in[p, y*kh + i, x*kw + j] = grad_out[p, y, x] / T(kh * kw); fully overwritten.
template <typename T>
void AvgPool2dBackward(const Context& ctx, const Pool2dShape& s, const T* grad_out, T* grad_in);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_POOL_H_
