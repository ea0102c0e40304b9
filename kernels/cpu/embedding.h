// Embedding lookup: rows of a (num_embeddings, dim) table gathered by integer ids.
#ifndef MT_KERNELS_CPU_EMBEDDING_H_
#define MT_KERNELS_CPU_EMBEDDING_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cpu {

// out[i, :] = weight[ids[i], :].  weight: (num, dim)  ids: (n_ids), each in [0, num)  out: (n_ids, dim)
template <typename T>
void EmbeddingForward(const Context& ctx, const T* weight, int64_t dim, const int64_t* ids,
                      int64_t n_ids, T* out);

// grad_weight[ids[i], :] += grad_out[i, :]. Touches only the rows named by ids, so the cost is
// O(n_ids * dim), not O(num * dim). Caller zeroes grad_weight. Repeated ids accumulate.
template <typename T>
void EmbeddingBackward(const Context& ctx, const T* grad_out, const int64_t* ids, int64_t n_ids,
                       int64_t dim, T* grad_weight);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_EMBEDDING_H_
