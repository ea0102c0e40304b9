// 2-D convolution on the GPU (kernels/cpu/conv.h's set and semantics): NCHW, stride,
// asymmetric padding; conv1d is in_h = kernel_h = 1. im2col + cuBLAS (conv_body.h).
// Device pointers; work is queued on ctx.stream (a cudaStream_t) and not waited for.
#ifndef MT_KERNELS_CUDA_CONV_H_
#define MT_KERNELS_CUDA_CONV_H_

#include <cstdint>

#include "kernels/context.h"
#include "kernels/op_params.h"

namespace mt::kernels::cuda {

using ::mt::kernels::Conv2dShape;
// input (batch, C, H, W)  weight (O, C, kh, kw)  bias (O) or null  out (batch, O, oh, ow)
template <typename T>
void Conv2dForward(const Context& ctx, const Conv2dShape& s, const T* input, const T* weight,
                   const T* bias, T* out);

// grad_out (batch, O, oh, ow)  grad_input (batch, C, H, W), fully overwritten
template <typename T>
void Conv2dBackwardInput(const Context& ctx, const Conv2dShape& s, const T* grad_out,
                         const T* weight, T* grad_input);

// grad_weight (O, C, kh, kw), grad_bias (O) or null: fully overwritten; deterministic
template <typename T>
void Conv2dBackwardWeight(const Context& ctx, const Conv2dShape& s, const T* grad_out,
                          const T* input, T* grad_weight, T* grad_bias);

// out = max(conv2d(input, weight) + bias, 0) in one pass over the output (the GEMM's epilogue
// kernel applies bias and ReLU): a fused forward for conv + bias + ReLU blocks. Same shapes as
// Conv2dForward; bias may be null.
template <typename T>
void Conv2dBiasReluForward(const Context& ctx, const Conv2dShape& s, const T* input,
                           const T* weight, const T* bias, T* out);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_CONV_H_
