// Reductions over the middle dim of a dense (outer, n, inner) array: sum (accumulated in
// double, as the CPU kernel does), max with the first arg-max, and max's backward.
// Two plans: a block per output when outputs are rows (inner == 1) or few and long (a
// shared-memory tree over n: coalesced, deterministic), else a thread per output looping over n
// (coalesced across threads along inner).
#ifndef MT_KERNELS_CUDA_REDUCE_BODY_H_
#define MT_KERNELS_CUDA_REDUCE_BODY_H_

#include <cstdint>

#include "kernels/cuda/body.h"
#include "kernels/cuda/math.h"

namespace mt::kernels::cuda {

// True when the block-per-output plan fits (outer, n, inner) better than a thread per output.
inline bool BlockPerOutput(int64_t outer, int64_t n, int64_t inner) {
  return (inner == 1 && n >= 32) || (outer * inner < 2048 && n >= 1024);
}

struct SumDouble {
  MT_BODY double operator()(double a, double b) const { return a + b; }
};

// out (outer, inner) = sum over n of in (outer, n, inner); block per output.
template <typename T>
struct SumDimBlockBody {
  const T* in;
  int64_t outer, n, inner;
  T* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    double* buf = t.template shared<double>();
    // The loop bound is the same for every thread of a block, so sync() inside is safe.
    for (int64_t q = t.bid(); q < outer * inner; q += t.nblocks()) {
      const int64_t o = q / inner, i = q - o * inner;
      double s = 0;
      for (int64_t j = t.tid(); j < n; j += t.nthreads()) s += in[(o * n + j) * inner + i];
      s = BlockReduce(t, buf, s, SumDouble{});
      if (t.tid() == 0) out[q] = static_cast<T>(s);
    }
  }
};

// Same result, a thread per output.
template <typename T>
struct SumDimThreadBody {
  const T* in;
  int64_t outer, n, inner;
  T* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t q = GlobalThread(t); q < outer * inner; q += GlobalStride(t)) {
      const int64_t o = q / inner, i = q - o * inner;
      const T* p = in + o * n * inner + i;
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += p[j * inner];
      out[q] = static_cast<T>(s);
    }
  }
};

// A candidate maximum: its value and position (kNoIndex: none yet).
template <typename T>
struct ArgMax {
  T value;
  int64_t index;
};
constexpr int64_t kNoIndex = INT64_MAX;

// The better of two candidates: NaN beats numbers (NaN counts as the maximum), a larger value
// beats a smaller one, and on ties the smaller position wins (PyTorch's CPU max).
template <typename T>
struct BetterArgMax {
  MT_BODY ArgMax<T> operator()(const ArgMax<T>& a, const ArgMax<T>& b) const {
    if (a.index == kNoIndex) return b;
    if (b.index == kNoIndex) return a;
    const bool a_nan = IsNan(a.value), b_nan = IsNan(b.value);
    if (a_nan != b_nan) return a_nan ? a : b;
    if (!a_nan && a.value != b.value) return a.value > b.value ? a : b;
    return a.index < b.index ? a : b;
  }
};

// n == 0 gives -inf and arg-max -1, as the CPU kernel.
template <typename T>
MT_BODY void WriteMax(const ArgMax<T>& best, int64_t q, T* out, int64_t* argmax) {
  out[q] = best.index == kNoIndex ? -T(INFINITY) : best.value;
  if (argmax != nullptr) argmax[q] = best.index == kNoIndex ? -1 : best.index;
}

template <typename T>
struct MaxDimBlockBody {
  const T* in;
  int64_t outer, n, inner;
  T* out;
  int64_t* argmax;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    ArgMax<T>* buf = t.template shared<ArgMax<T>>();
    for (int64_t q = t.bid(); q < outer * inner; q += t.nblocks()) {
      const int64_t o = q / inner, i = q - o * inner;
      ArgMax<T> best{T(0), kNoIndex};
      for (int64_t j = t.tid(); j < n; j += t.nthreads()) {
        best = BetterArgMax<T>{}(best, ArgMax<T>{in[(o * n + j) * inner + i], j});
      }
      best = BlockReduce(t, buf, best, BetterArgMax<T>{});
      if (t.tid() == 0) WriteMax(best, q, out, argmax);
    }
  }
};

template <typename T>
struct MaxDimThreadBody {
  const T* in;
  int64_t outer, n, inner;
  T* out;
  int64_t* argmax;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t q = GlobalThread(t); q < outer * inner; q += GlobalStride(t)) {
      const int64_t o = q / inner, i = q - o * inner;
      const T* p = in + o * n * inner + i;
      ArgMax<T> best{T(0), kNoIndex};
      for (int64_t j = 0; j < n; ++j) best = BetterArgMax<T>{}(best, ArgMax<T>{p[j * inner], j});
      WriteMax(best, q, out, argmax);
    }
  }
};

// grad_in (outer, n, inner) = grad_out (outer, inner) at argmax, 0 elsewhere.
template <typename T>
struct MaxDimBackwardBody {
  const T* grad_out;
  const int64_t* argmax;
  int64_t outer, n, inner;
  T* grad_in;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t e = GlobalThread(t); e < outer * n * inner; e += GlobalStride(t)) {
      const int64_t o = e / (n * inner);
      const int64_t r = e - o * n * inner;
      const int64_t j = r / inner, i = r - j * inner;
      const int64_t q = o * inner + i;
      grad_in[e] = argmax[q] == j ? grad_out[q] : T(0);
    }
  }
};

// ---------------------------------------------------------------- launch plans
template <typename Exec, typename T>
void SumDimImpl(Exec& ex, const T* in, int64_t outer, int64_t n, int64_t inner, T* out) {
  const int64_t outputs = outer * inner;
  if (outputs == 0) return;
  if (BlockPerOutput(outer, n, inner)) {
    ex.Launch(Grid{outputs < kMaxBlocks ? outputs : kMaxBlocks, 1}, kReduceBlock,
              kReduceBlock * sizeof(double), SumDimBlockBody<T>{in, outer, n, inner, out});
  } else {
    ex.Launch(GridFor(outputs), kBlock, 0, SumDimThreadBody<T>{in, outer, n, inner, out});
  }
}

template <typename Exec, typename T>
void MaxDimImpl(Exec& ex, const T* in, int64_t outer, int64_t n, int64_t inner, T* out,
                int64_t* argmax) {
  const int64_t outputs = outer * inner;
  if (outputs == 0) return;
  if (BlockPerOutput(outer, n, inner)) {
    ex.Launch(Grid{outputs < kMaxBlocks ? outputs : kMaxBlocks, 1}, kReduceBlock,
              kReduceBlock * sizeof(ArgMax<T>),
              MaxDimBlockBody<T>{in, outer, n, inner, out, argmax});
  } else {
    ex.Launch(GridFor(outputs), kBlock, 0, MaxDimThreadBody<T>{in, outer, n, inner, out, argmax});
  }
}

template <typename Exec, typename T>
void MaxDimBackwardImpl(Exec& ex, const T* grad_out, const int64_t* argmax, int64_t outer,
                        int64_t n, int64_t inner, T* grad_in) {
  const int64_t total = outer * n * inner;
  if (total == 0) return;
  ex.Launch(GridFor(total), kBlock, 0,
            MaxDimBackwardBody<T>{grad_out, argmax, outer, n, inner, grad_in});
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_REDUCE_BODY_H_
