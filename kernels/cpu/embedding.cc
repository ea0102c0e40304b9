#include "kernels/cpu/embedding.h"

#include <omp.h>

#include <algorithm>

namespace mt::kernels::cpu {
namespace {

// Below this many elements copied, a parallel region costs more than it saves.
constexpr int64_t kMinParallelWork = 1 << 16;
// Columns per task in the backward pass. Splitting by column rather than by id means no two
// threads ever add into the same element, so repeated ids need no atomics and the sum order
// (id order) is fixed.
constexpr int64_t kColumnBlock = 64;

}  // namespace

// weight: (num, dim)  ids: (n_ids)  out: (n_ids, dim)
template <typename T>
void EmbeddingForward(const Context& ctx, const T* weight, int64_t dim, const int64_t* ids,
                      int64_t n_ids, T* out) {
  if (dim <= 0) return;
#pragma omp parallel for schedule(static) \
    num_threads(ctx.threads) if (!omp_in_parallel() && n_ids * dim >= kMinParallelWork)
  for (int64_t i = 0; i < n_ids; ++i) {
    const T* row = weight + ids[i] * dim;
    std::copy(row, row + dim, out + i * dim);
  }
}

// grad_out: (n_ids, dim)  ids: (n_ids)  grad_weight: (num, dim), accumulated into.
template <typename T>
void EmbeddingBackward(const Context& ctx, const T* grad_out, const int64_t* ids, int64_t n_ids,
                       int64_t dim, T* grad_weight) {
  if (dim <= 0) return;
  const int64_t blocks = (dim + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) num_threads( \
    ctx.threads) if (!omp_in_parallel() && blocks > 1 && n_ids * dim >= kMinParallelWork)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * kColumnBlock, w = std::min(kColumnBlock, dim - c0);
    for (int64_t i = 0; i < n_ids; ++i) {
      const T* g = grad_out + i * dim + c0;
      T* dst = grad_weight + ids[i] * dim + c0;
#pragma omp simd
      for (int64_t c = 0; c < w; ++c) dst[c] += g[c];
    }
  }
}

#define MT_INSTANTIATE(T)                                                                        \
  template void EmbeddingForward<T>(const Context&, const T*, int64_t, const int64_t*, int64_t,  \
                                    T*);                                                         \
  template void EmbeddingBackward<T>(const Context&, const T*, const int64_t*, int64_t, int64_t, \
                                     T*);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE

}  // namespace mt::kernels::cpu
