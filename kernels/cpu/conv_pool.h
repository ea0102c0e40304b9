// relu(max_pool2d(conv2d(x))) in one pass per sample: LeNet-5's layers. Where the conv takes the
// direct float path (conv_direct.h), each sample's conv output is written to a per-thread
// buffer, pooled from there while it is still in the core's cache, and the ReLU applied to the
// pooled values; the full-size conv output never reaches memory. The same values, bit for bit,
// as Conv2dForward, then MaxPool2dForward, then max(x, 0) (the same kernels run on each sample).
#ifndef MT_KERNELS_CPU_CONV_POOL_H_
#define MT_KERNELS_CPU_CONV_POOL_H_

#include <cstdint>

#include "kernels/context.h"
#include "kernels/op_params.h"

namespace mt::kernels::cpu {

// True when Conv2dMaxPoolReluForward handles the conv `s` pooled by kh x kw windows: float
// (T = float), the direct conv path, windows dividing the conv output.
template <typename T>
bool Conv2dMaxPoolReluApplies(const Conv2dShape& s, int64_t kh, int64_t kw);

// input: (N, C, H, W)  weight: (O, C, kh, kw)  bias: (O) or null
// out: (N, O, oh / kh, ow / kw) = max(max over each window of the conv output, 0)
// argmax: null, or (N, O, oh / kh, ow / kw) window taps as MaxPool2dForward gives them.
// Only where Conv2dMaxPoolReluApplies<T>(s, kh, kw).
template <typename T>
void Conv2dMaxPoolReluForward(const Context& ctx, const Conv2dShape& s, int64_t kh, int64_t kw,
                              const T* input, const T* weight, const T* bias, T* out,
                              int64_t* argmax);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_CONV_POOL_H_
