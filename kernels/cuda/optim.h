// Optimiser steps on flat device buffers (kernels/cpu/optim.h's rules), one launch each.
// Device pointers; work is queued on ctx.stream (a cudaStream_t) and not waited for.
#ifndef MT_KERNELS_CUDA_OPTIM_H_
#define MT_KERNELS_CUDA_OPTIM_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cuda {

// torch.optim.SGD (dampening 0, no Nesterov); momentum_buf may be null when momentum == 0. (n)
template <typename T>
void SgdStep(const Context& ctx, int64_t n, T* param, const T* grad, T* momentum_buf, T lr,
             T momentum, T weight_decay, bool first_step);

// torch.optim.Adam (L2 weight decay, no AMSGrad), step from 1.  All buffers (n)
template <typename T>
void AdamStep(const Context& ctx, int64_t n, T* param, const T* grad, T* m, T* v, T lr, T beta1,
              T beta2, T eps, T weight_decay, int64_t step);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_OPTIM_H_
