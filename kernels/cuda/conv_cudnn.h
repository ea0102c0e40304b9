// cuDNN's convolution forward as a second path next to conv.h's im2col + cuBLAS: a cross-check
// on a GPU (gpu_kernels_test compares them) and a candidate the backend may pick per shape.
// cuDNN's legacy descriptors take symmetric padding only, so asymmetric shapes are declined.
#ifndef MT_KERNELS_CUDA_CONV_CUDNN_H_
#define MT_KERNELS_CUDA_CONV_CUDNN_H_

#include "kernels/context.h"
#include "kernels/op_params.h"

namespace mt::kernels::cuda {

// True when cuDNN can run shape s (symmetric padding, sizes within int).
bool CudnnSupports(const Conv2dShape& s);

// out = conv2d(input, weight) + bias (bias may be null), as Conv2dForward. Returns false (and
// does nothing) when !CudnnSupports(s); throws CudaError on a cuDNN failure.
// input (batch, C, H, W)  weight (O, C, kh, kw)  bias (O)  out (batch, O, oh, ow)
template <typename T>
bool Conv2dForwardCudnn(const Context& ctx, const Conv2dShape& s, const T* input, const T* weight,
                        const T* bias, T* out);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_CONV_CUDNN_H_
