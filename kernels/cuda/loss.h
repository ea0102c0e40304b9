// Negative log-likelihood loss on the GPU (kernels/cpu/loss.h).
// Device pointers; work is queued on ctx.stream (a cudaStream_t) and not waited for.
#ifndef MT_KERNELS_CUDA_LOSS_H_
#define MT_KERNELS_CUDA_LOSS_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cuda {

// out[0] = -(1/n) sum_i log_probs[i, target[i]] (summed in double).  log_probs (n, c)  out (1)
template <typename T>
void NllLossForward(const Context& ctx, const T* log_probs, const int64_t* target, int64_t n,
                    int64_t c, T* out);

// grad_in[i, target[i]] = -grad_out[0] / n, else 0.  grad_out (1, device)  grad_in (n, c)
template <typename T>
void NllLossBackward(const Context& ctx, const T* grad_out, const int64_t* target, int64_t n,
                     int64_t c, T* grad_in);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_LOSS_H_
