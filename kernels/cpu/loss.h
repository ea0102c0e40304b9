// Negative log-likelihood loss over (N, C) log-probabilities with int64 targets.
#ifndef MT_KERNELS_CPU_LOSS_H_
#define MT_KERNELS_CPU_LOSS_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cpu {

// out[0] = -(1/n) * sum_i log_probs[i, target[i]], summed in double. A gather, as PyTorch's
// nll_loss: a one-hot product would turn a -inf in a non-target class into NaN (-inf * 0).
// Targets must be in [0, c) (check first).  log_probs: (n, c)  target: (n)  out: (1)
template <typename T>
void NllLossForward(const Context& ctx, const T* log_probs, const int64_t* target, int64_t n,
                    int64_t c, T* out);

// grad_in[i, target[i]] = -grad_out[0] / n (computed in double), every other element 0.
// grad_out: (1)  target: (n)  grad_in: (n, c), fully overwritten.
template <typename T>
void NllLossBackward(const Context& ctx, const T* grad_out, const int64_t* target, int64_t n,
                     int64_t c, T* grad_in);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_LOSS_H_
