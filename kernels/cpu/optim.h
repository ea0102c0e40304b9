// Optimiser updates on flat parameter buffers, in place, with PyTorch's update rules.
#ifndef MT_KERNELS_CPU_OPTIM_H_
#define MT_KERNELS_CPU_OPTIM_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cpu {

// torch.optim.SGD (dampening 0, no Nesterov):
//   g = grad + weight_decay * param
//   if momentum != 0: buf = first_step ? g : momentum * buf + g;  g = buf
//   param -= lr * g
// momentum_buf may be null when momentum == 0.  All buffers: (n)
template <typename T>
void SgdStep(const Context& ctx, int64_t n, T* param, const T* grad, T* momentum_buf, T lr,
             T momentum, T weight_decay, bool first_step);

// torch.optim.Adam (L2 weight decay added to the gradient, no AMSGrad); `step` counts from 1:
//   g = grad + weight_decay * param;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g
//   param -= lr * (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps)
template <typename T>
void AdamStep(const Context& ctx, int64_t n, T* param, const T* grad, T* m, T* v, T lr, T beta1,
              T beta2, T eps, T weight_decay, int64_t step);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_OPTIM_H_
