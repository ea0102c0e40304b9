// Embedding lookup and its deterministic backward on the GPU (kernels/cpu/embedding.h).
// Device pointers; work is queued on ctx.stream (a cudaStream_t) and not waited for.
#ifndef MT_KERNELS_CUDA_EMBEDDING_H_
#define MT_KERNELS_CUDA_EMBEDDING_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cuda {

// out[i, :] = weight[ids[i], :].  weight (num, dim)  ids (n_ids)  out (n_ids, dim)
template <typename T>
void EmbeddingForward(const Context& ctx, const T* weight, int64_t dim, const int64_t* ids,
                      int64_t n_ids, T* out);

// grad_weight[ids[i], :] += grad_out[i, :] in order of i, no atomics (bit-reproducible).
// Caller zeroes grad_weight.  grad_out (n_ids, dim)
template <typename T>
void EmbeddingBackward(const Context& ctx, const T* grad_out, const int64_t* ids, int64_t n_ids,
                       int64_t dim, T* grad_weight);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_EMBEDDING_H_
