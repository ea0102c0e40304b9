// Softmax and log-softmax over the middle dim of (outer, n, inner) on the GPU
// (kernels/cpu/softmax.h).
// Device pointers; work is queued on ctx.stream (a cudaStream_t) and not waited for.
#ifndef MT_KERNELS_CUDA_SOFTMAX_H_
#define MT_KERNELS_CUDA_SOFTMAX_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cuda {

// out = softmax(in) along n, or log_softmax when log.  in, out (outer, n, inner)
template <typename T>
void SoftmaxForward(const Context& ctx, bool log, const T* in, int64_t outer, int64_t n,
                    int64_t inner, T* out);

// softmax: gi = y (g - sum(g y)); log: gi = g - exp(y) sum(g); y = the forward output.
template <typename T>
void SoftmaxBackward(const Context& ctx, bool log, const T* out, const T* grad_out, int64_t outer,
                     int64_t n, int64_t inner, T* grad_in);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_SOFTMAX_H_
