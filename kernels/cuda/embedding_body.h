// Embedding lookup and its deterministic backward.
//
// Backward without float atomics: a block per id position i; the block first asks whether i is
// the first occurrence of its id (a tree OR over ids[0, i)); only then does it own that weight
// row, and each thread (one per column) adds grad_out rows j >= i with ids[j] == ids[i] in
// increasing j, onto the row's current value: exactly the reference's order, so the result is
// bit-identical to a serial scatter-add and run-to-run deterministic. Cost O(n_ids^2) id reads
// (L1-cached broadcasts), fine for a batch of sentences (n_ids in the thousands); a sort-based
// segment sum (needing a scratch buffer for the sorted pairs) is the next step for larger ones.
#ifndef MT_KERNELS_CUDA_EMBEDDING_BODY_H_
#define MT_KERNELS_CUDA_EMBEDDING_BODY_H_

#include <cstdint>

#include "kernels/cuda/body.h"

namespace mt::kernels::cuda {

// out[i, c] = weight[ids[i], c].  weight: (num, dim)  ids: (n_ids)  out: (n_ids, dim)
template <typename T>
struct EmbeddingForwardBody {
  const T* weight;
  int64_t dim;
  const int64_t* ids;
  int64_t n_ids;
  T* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t e = GlobalThread(t); e < n_ids * dim; e += GlobalStride(t)) {
      const int64_t i = e / dim, c = e - i * dim;
      out[e] = weight[ids[i] * dim + c];
    }
  }
};

struct OrInt {
  MT_BODY int operator()(int a, int b) const { return a | b; }
};

// grad_weight[ids[i], :] += grad_out[i, :] for every i, in order of i.
template <typename T>
struct EmbeddingBackwardBody {
  const T* grad_out;
  const int64_t* ids;
  int64_t n_ids, dim;
  T* grad_weight;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    int* flag = t.template shared<int>();
    for (int64_t i = t.bid(); i < n_ids; i += t.nblocks()) {
      const int64_t id = ids[i];
      int seen = 0;
      for (int64_t j = t.tid(); j < i && !seen; j += t.nthreads()) seen = ids[j] == id;
      seen = BlockReduce(t, flag, seen, OrInt{});
      if (seen) continue;  // block-uniform: an earlier block position owns this row
      for (int64_t c = t.tid(); c < dim; c += t.nthreads()) {
        T acc = grad_weight[id * dim + c];
        for (int64_t j = i; j < n_ids; ++j) {
          if (ids[j] == id) acc += grad_out[j * dim + c];
        }
        grad_weight[id * dim + c] = acc;
      }
    }
  }
};

template <typename Exec, typename T>
void EmbeddingForwardImpl(Exec& ex, const T* weight, int64_t dim, const int64_t* ids, int64_t n_ids,
                          T* out) {
  if (n_ids * dim == 0) return;
  ex.Launch(GridFor(n_ids * dim), kBlock, 0, EmbeddingForwardBody<T>{weight, dim, ids, n_ids, out});
}

template <typename Exec, typename T>
void EmbeddingBackwardImpl(Exec& ex, const T* grad_out, const int64_t* ids, int64_t n_ids,
                           int64_t dim, T* grad_weight) {
  if (n_ids * dim == 0) return;
  // Threads per block: the row width rounded up to a warp multiple, at most kReduceBlock,
  // and a power of two for the tree.
  int block = 32;
  while (block < dim && block < kReduceBlock) block *= 2;
  ex.Launch(Grid{n_ids < kMaxBlocks ? n_ids : kMaxBlocks, 1}, block, block * sizeof(int),
            EmbeddingBackwardBody<T>{grad_out, ids, n_ids, dim, grad_weight});
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_EMBEDDING_BODY_H_
