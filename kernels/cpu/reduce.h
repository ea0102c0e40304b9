// Reductions over one dimension of a contiguous array viewed as (outer, n, inner):
// the reduced dim has size n, `outer` is the product of the dims before it, `inner` after it.
// Outputs are (outer, inner), contiguous.
#ifndef MT_KERNELS_CPU_REDUCE_H_
#define MT_KERNELS_CPU_REDUCE_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cpu {

// out[o, i] = sum_j in[o, j, i]. Float sums accumulate in double, so a mean over 60k
// elements stays accurate.  in: (outer, n, inner)  out: (outer, inner)
template <typename T>
void SumDim(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner, T* out);

// out[o, i] = max_j in[o, j, i]; argmax[o, i] = the smallest j reaching it (first on ties, as
// PyTorch's CPU max does). NaN counts as the maximum.  argmax may be null.
// in: (outer, n, inner)  out, argmax: (outer, inner)
template <typename T>
void MaxDim(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner, T* out,
            int64_t* argmax);

// Backward of MaxDim: grad_in[o, argmax[o,i], i] = grad_out[o, i]; every other element 0.
// grad_out, argmax: (outer, inner)  grad_in: (outer, n, inner), fully overwritten.
template <typename T>
void MaxDimBackward(const Context& ctx, const T* grad_out, const int64_t* argmax, int64_t outer,
                    int64_t n, int64_t inner, T* grad_in);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_REDUCE_H_
