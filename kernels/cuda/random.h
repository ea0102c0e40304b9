// Dropout masks on the GPU from the counter-based generator (kernels/random_bits.h): the same
// mask as kernels/cpu/random.h's for the same engine state.
// Device pointers; work is queued on ctx.stream (a cudaStream_t) and not waited for.
#ifndef MT_KERNELS_CUDA_RANDOM_H_
#define MT_KERNELS_CUDA_RANDOM_H_

#include <cstdint>
#include <random>

#include "kernels/context.h"

namespace mt::kernels::cuda {

// mask[i] = DropoutUniform01(key, i) < keep ? scale : 0, key = engine(); the engine (host)
// advances n draws in all.  mask: (n), device
template <typename T>
void DropoutMask(const Context& ctx, std::mt19937_64& engine, int64_t n, double keep, double scale,
                 T* mask);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_RANDOM_H_
