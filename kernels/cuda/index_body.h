// Kernels on int64 index arrays: the first id outside [0, limit) (one block, a min-tree over
// positions, then one read-back: the caller needs the answer on the host to raise the error),
// and one-hot encoding.
#ifndef MT_KERNELS_CUDA_INDEX_BODY_H_
#define MT_KERNELS_CUDA_INDEX_BODY_H_

#include <cstdint>

#include "kernels/cuda/body.h"

namespace mt::kernels::cuda {

struct MinInt64 {
  MT_BODY int64_t operator()(int64_t a, int64_t b) const { return a < b ? a : b; }
};

// result[0] = the first position i with ids[i] outside [0, limit) (n if none), result[1] = ids
// there.  ids: (n)  result: (2)
struct IndexCheckBody {
  const int64_t* ids;
  int64_t n, limit;
  int64_t* result;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    int64_t first = n;
    for (int64_t i = t.tid(); i < n; i += t.nthreads()) {
      if (ids[i] < 0 || ids[i] >= limit) {
        first = i;  // this thread's positions ascend: its first bad one is its smallest
        break;
      }
    }
    first = BlockReduce(t, t.template shared<int64_t>(), first, MinInt64{});
    if (t.tid() == 0) {
      result[0] = first;
      result[1] = first < n ? ids[first] : 0;
    }
  }
};

// out[i, j] = j == ids[i].  out: (n, num_classes)
template <typename T>
struct OneHotBody {
  const int64_t* ids;
  int64_t n, num_classes;
  T* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t e = GlobalThread(t); e < n * num_classes; e += GlobalStride(t)) {
      const int64_t i = e / num_classes, j = e - i * num_classes;
      out[e] = ids[i] == j ? T(1) : T(0);
    }
  }
};

// {position, value} of the first id outside [0, limit), or {-1, 0}.
template <typename Exec>
void FindIndexOutsideImpl(Exec& ex, const int64_t* ids, int64_t n, int64_t limit, int64_t* position,
                          int64_t* value) {
  *position = -1;
  *value = 0;
  if (n <= 0) return;
  auto result = ex.template Scratch<int64_t>(2);
  ex.Launch(Grid{1, 1}, kReduceBlock, kReduceBlock * sizeof(int64_t),
            IndexCheckBody{ids, n, limit, result.get()});
  int64_t host[2];
  ex.CopyToHost(host, result.get(), sizeof(host));
  if (host[0] < n) {
    *position = host[0];
    *value = host[1];
  }
}

template <typename Exec, typename T>
void OneHotImpl(Exec& ex, const int64_t* ids, int64_t n, int64_t num_classes, T* out) {
  if (n * num_classes == 0) return;
  ex.Launch(GridFor(n * num_classes), kBlock, 0, OneHotBody<T>{ids, n, num_classes, out});
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_INDEX_BODY_H_
