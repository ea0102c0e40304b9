// 2-D convolution (cross-correlation, as PyTorch's conv2d), NCHW, no dilation, no groups.
// 1-D convolution is the case in_h = kernel_h = 1, pad_top = pad_bottom = 0.
// Padding may differ per side: MiniTorch's "same width, weight anchored top-left" conv is
// pad_top = pad_left = 0, pad_bottom = kernel_h - 1, pad_right = kernel_w - 1, stride 1.
#ifndef MT_KERNELS_CPU_CONV_H_
#define MT_KERNELS_CPU_CONV_H_

#include <cstdint>

#include "kernels/context.h"
#include "kernels/op_params.h"

namespace mt::kernels::cpu {

using ::mt::kernels::Conv2dShape;

// out[b,o,y,x] = bias[o] + sum_{c,i,j} in[b,c,y*sh+i-pt, x*sw+j-pl] * w[o,c,i,j]  (zero outside)
// input: (batch, in_channels, in_h, in_w)  weight: (out_channels, in_channels, kh, kw)
// bias: (out_channels) or null  out: (batch, out_channels, out_h, out_w). All contiguous.
// Elements of the columns buffer worth keeping from the forward pass for the weight gradient:
// s.columns_size(), or 0 where there are none (a pointwise conv's columns are its input; the
// direct float kernels of conv_direct.h build none).
template <typename T>
int64_t Conv2dKeptColumnsSize(const Conv2dShape& s);

// columns: null, or Conv2dKeptColumnsSize<T>(s) (> 0) elements to keep every sample's im2col
// matrix in, so the weight gradient can reuse them: (C*kh*kw, batch*out_h*out_w), sample b's at
// column b*out_h*out_w.
template <typename T>
void Conv2dForward(const Context& ctx, const Conv2dShape& s, const T* input, const T* weight,
                   const T* bias, T* out, T* columns = nullptr);


// grad_input = d(sum(out * grad_out)) / d(input); fully overwritten.
// grad_out: (batch, out_channels, out_h, out_w)  grad_input: (batch, in_channels, in_h, in_w)
template <typename T>
void Conv2dBackwardInput(const Context& ctx, const Conv2dShape& s, const T* grad_out,
                         const T* weight, T* grad_input);

// grad_weight = d/d(weight), grad_bias = d/d(bias) (skipped if null); both fully overwritten.
// Deterministic for a fixed thread count.
// columns: null (im2col again from input), or what Conv2dForward kept for this input (which
// must still be there: the direct float path of conv_direct.h keeps no columns and reads it).
template <typename T>
void Conv2dBackwardWeight(const Context& ctx, const Conv2dShape& s, const T* grad_out,
                          const T* input, T* grad_weight, T* grad_bias,
                          const T* columns = nullptr);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_CONV_H_
