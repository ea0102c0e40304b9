// Reductions over the middle dim of (outer, n, inner) on the GPU (kernels/cpu/reduce.h).
// Device pointers; work is queued on ctx.stream (a cudaStream_t) and not waited for.
#ifndef MT_KERNELS_CUDA_REDUCE_H_
#define MT_KERNELS_CUDA_REDUCE_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cuda {

// out[o, i] = sum_j in[o, j, i], accumulated in double.  in (outer, n, inner)  out (outer, inner)
template <typename T>
void SumDim(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner, T* out);

// out = max over j, argmax = the first j reaching it (NaN counts as the maximum); argmax may
// be null. n == 0: -inf and -1.
template <typename T>
void MaxDim(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner, T* out,
            int64_t* argmax);

// grad_in[o, argmax[o, i], i] = grad_out[o, i], else 0.  grad_in (outer, n, inner)
template <typename T>
void MaxDimBackward(const Context& ctx, const T* grad_out, const int64_t* argmax, int64_t outer,
                    int64_t n, int64_t inner, T* grad_in);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_REDUCE_H_
