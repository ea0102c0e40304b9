// Negative log-likelihood over (n, c) log-probabilities with int64 targets: the mean in one
// block (a deterministic tree in double), the gradient a thread per element.
#ifndef MT_KERNELS_CUDA_LOSS_BODY_H_
#define MT_KERNELS_CUDA_LOSS_BODY_H_

#include <cstdint>

#include "kernels/cuda/body.h"
#include "kernels/cuda/reduce_body.h"

namespace mt::kernels::cuda {

// out[0] = -(1/n) sum_i log_probs[i, target[i]].  log_probs: (n, c)  target: (n)  out: (1)
template <typename T>
struct NllLossForwardBody {
  const T* log_probs;
  const int64_t* target;
  int64_t n, c;
  T* out;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    double s = 0;
    for (int64_t i = t.tid(); i < n; i += t.nthreads()) s += log_probs[i * c + target[i]];
    s = BlockReduce(t, t.template shared<double>(), s, SumDouble{});
    if (t.tid() == 0) out[0] = static_cast<T>(-s / static_cast<double>(n));
  }
};

// grad_in[i, j] = j == target[i] ? -grad_out[0] / n : 0.  grad_in: (n, c)
template <typename T>
struct NllLossBackwardBody {
  const T* grad_out;
  const int64_t* target;
  int64_t n, c;
  T* grad_in;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    const T value = static_cast<T>(-static_cast<double>(grad_out[0]) / static_cast<double>(n));
    for (int64_t e = GlobalThread(t); e < n * c; e += GlobalStride(t)) {
      const int64_t i = e / c, j = e - i * c;
      grad_in[e] = j == target[i] ? value : T(0);
    }
  }
};

template <typename Exec, typename T>
void NllLossForwardImpl(Exec& ex, const T* log_probs, const int64_t* target, int64_t n, int64_t c,
                        T* out) {
  // n == 0 is refused by the op (an empty batch has no mean); one block covers any n.
  ex.Launch(Grid{1, 1}, kReduceBlock, kReduceBlock * sizeof(double),
            NllLossForwardBody<T>{log_probs, target, n, c, out});
}

template <typename Exec, typename T>
void NllLossBackwardImpl(Exec& ex, const T* grad_out, const int64_t* target, int64_t n, int64_t c,
                         T* grad_in) {
  if (n * c == 0) return;
  ex.Launch(GridFor(n * c), kBlock, 0, NllLossBackwardBody<T>{grad_out, target, n, c, grad_in});
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_LOSS_BODY_H_
