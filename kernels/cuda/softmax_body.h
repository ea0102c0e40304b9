// Softmax and log-softmax over the middle dim of dense (outer, n, inner), forward and backward.
// Rows (inner == 1) get a block each (shared-memory trees for the max and the sum); otherwise
// a thread per (outer, inner) column walks n (coalesced along inner).
#ifndef MT_KERNELS_CUDA_SOFTMAX_BODY_H_
#define MT_KERNELS_CUDA_SOFTMAX_BODY_H_

#include <cmath>
#include <cstdint>

#include "kernels/cuda/body.h"
#include "kernels/cuda/math.h"
#include "kernels/cuda/reduce_body.h"

namespace mt::kernels::cuda {

template <typename T>
struct MaxOf {
  // NaN propagates (a row with a NaN is all NaN, as on the CPU).
  MT_BODY T operator()(T a, T b) const { return (a > b || IsNan(a)) ? a : b; }
};
template <typename T>
struct SumOf {
  MT_BODY T operator()(T a, T b) const { return a + b; }
};

// y = softmax(x) or log_softmax(x) along n.  x, y: (outer, n, inner)
template <typename T>
struct SoftmaxRowBody {  // inner == 1
  bool log;
  const T* in;
  int64_t rows, n;
  T* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    T* buf = t.template shared<T>();
    for (int64_t r = t.bid(); r < rows; r += t.nblocks()) {
      const T* x = in + r * n;
      T* y = out + r * n;
      T m = -T(INFINITY);
      for (int64_t j = t.tid(); j < n; j += t.nthreads()) m = MaxOf<T>{}(m, x[j]);
      m = BlockReduce(t, buf, m, MaxOf<T>{});
      T s = 0;
      for (int64_t j = t.tid(); j < n; j += t.nthreads()) s += std::exp(x[j] - m);
      s = BlockReduce(t, buf, s, SumOf<T>{});
      const T shift = m + std::log(s);  // as in the column body: no division
      for (int64_t j = t.tid(); j < n; j += t.nthreads()) {
        y[j] = log ? x[j] - shift : std::exp(x[j] - shift);
      }
    }
  }
};

template <typename T>
struct SoftmaxColumnBody {
  bool log;
  const T* in;
  int64_t outer, n, inner;
  T* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t q = GlobalThread(t); q < outer * inner; q += GlobalStride(t)) {
      const int64_t o = q / inner, i = q - o * inner;
      const T* x = in + o * n * inner + i;
      T* y = out + o * n * inner + i;
      T m = -T(INFINITY);
      for (int64_t j = 0; j < n; ++j) m = MaxOf<T>{}(m, x[j * inner]);
      T s = 0;
      for (int64_t j = 0; j < n; ++j) s += std::exp(x[j * inner] - m);
      // softmax = exp(log_softmax): no division (IEEE division is a subroutine call whose
      // register saves ptxas reports as spills), at most a few ulp from exp(x - m) / s.
      const T shift = m + std::log(s);
      if (log) {
        for (int64_t j = 0; j < n; ++j) y[j * inner] = x[j * inner] - shift;
      } else {
        for (int64_t j = 0; j < n; ++j) y[j * inner] = std::exp(x[j * inner] - shift);
      }
    }
  }
};

// softmax: gi = y * (g - sum(g * y));  log_softmax: gi = g - exp(y) * sum(g)
template <typename T>
struct SoftmaxBackwardRowBody {
  bool log;
  const T* out;
  const T* grad_out;
  int64_t rows, n;
  T* grad_in;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    T* buf = t.template shared<T>();
    for (int64_t r = t.bid(); r < rows; r += t.nblocks()) {
      const T* y = out + r * n;
      const T* g = grad_out + r * n;
      T* gi = grad_in + r * n;
      T s = 0;
      for (int64_t j = t.tid(); j < n; j += t.nthreads()) s += log ? g[j] : g[j] * y[j];
      s = BlockReduce(t, buf, s, SumOf<T>{});
      for (int64_t j = t.tid(); j < n; j += t.nthreads()) {
        gi[j] = log ? g[j] - std::exp(y[j]) * s : y[j] * (g[j] - s);
      }
    }
  }
};

template <typename T>
struct SoftmaxBackwardColumnBody {
  bool log;
  const T* out;
  const T* grad_out;
  int64_t outer, n, inner;
  T* grad_in;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t q = GlobalThread(t); q < outer * inner; q += GlobalStride(t)) {
      const int64_t o = q / inner, i = q - o * inner;
      const int64_t base = o * n * inner + i;
      T s = 0;
      // The branch on `log` sits outside the loops: uniform, and fewer live registers.
      if (log) {
        for (int64_t j = 0; j < n; ++j) s += grad_out[base + j * inner];
        for (int64_t j = 0; j < n; ++j) {
          const int64_t e = base + j * inner;
          grad_in[e] = grad_out[e] - std::exp(out[e]) * s;
        }
      } else {
        for (int64_t j = 0; j < n; ++j) s += grad_out[base + j * inner] * out[base + j * inner];
        for (int64_t j = 0; j < n; ++j) {
          const int64_t e = base + j * inner;
          grad_in[e] = out[e] * (grad_out[e] - s);
        }
      }
    }
  }
};

// ---------------------------------------------------------------- launch plans
template <typename Exec, typename T>
void SoftmaxForwardImpl(Exec& ex, bool log, const T* in, int64_t outer, int64_t n, int64_t inner,
                        T* out) {
  if (outer * n * inner == 0) return;
  if (inner == 1) {
    ex.Launch(Grid{outer < kMaxBlocks ? outer : kMaxBlocks, 1}, kReduceBlock,
              kReduceBlock * sizeof(T), SoftmaxRowBody<T>{log, in, outer, n, out});
  } else {
    ex.Launch(GridFor(outer * inner), kBlock, 0,
              SoftmaxColumnBody<T>{log, in, outer, n, inner, out});
  }
}

template <typename Exec, typename T>
void SoftmaxBackwardImpl(Exec& ex, bool log, const T* out, const T* grad_out, int64_t outer,
                         int64_t n, int64_t inner, T* grad_in) {
  if (outer * n * inner == 0) return;
  if (inner == 1) {
    ex.Launch(Grid{outer < kMaxBlocks ? outer : kMaxBlocks, 1}, kReduceBlock,
              kReduceBlock * sizeof(T),
              SoftmaxBackwardRowBody<T>{log, out, grad_out, outer, n, grad_in});
  } else {
    ex.Launch(GridFor(outer * inner), kBlock, 0,
              SoftmaxBackwardColumnBody<T>{log, out, grad_out, outer, n, inner, grad_in});
  }
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_SOFTMAX_BODY_H_
