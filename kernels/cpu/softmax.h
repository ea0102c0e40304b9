// Softmax and log-softmax over the middle dim of a contiguous (outer, n, inner) array.
#ifndef MT_KERNELS_CPU_SOFTMAX_H_
#define MT_KERNELS_CPU_SOFTMAX_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cpu {

// out = exp(x - max) / sum(exp(x - max)) along n.  in, out: (outer, n, inner)
template <typename T>
void SoftmaxForward(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner,
                    T* out);

// out = x - max - log(sum(exp(x - max))) along n (log-sum-exp trick).
template <typename T>
void LogSoftmaxForward(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner,
                       T* out);

// grad_in = y * (g - sum_n(g * y)), y = softmax output.  all: (outer, n, inner)
template <typename T>
void SoftmaxBackward(const Context& ctx, const T* out, const T* grad_out, int64_t outer, int64_t n,
                     int64_t inner, T* grad_in);

// grad_in = g - exp(y) * sum_n(g), y = log-softmax output.  all: (outer, n, inner)
template <typename T>
void LogSoftmaxBackward(const Context& ctx, const T* out, const T* grad_out, int64_t outer,
                        int64_t n, int64_t inner, T* grad_in);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_SOFTMAX_H_
