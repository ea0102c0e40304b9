#include "kernels/cpu/optim.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "kernels/optim_rules.h"

namespace mt::kernels::cpu {
namespace {

// Below this many parameters a parallel region costs more than the update itself.
constexpr int64_t kMinParallelWork = 1 << 18;

// body(begin, end) over [0, n): one contiguous slice per thread (slices start at multiples of
// 16 elements, whole cache lines apart), or all of it on the calling thread when the update is
// small or already inside a parallel region.
//
// The loops themselves live in plain functions with restrict pointers and `omp simd`, not in
// `omp parallel for simd`: GCC 12 left the combined construct's outlined loops scalar, and a
// scalar loop over the weights a replica on the other core has just read (engine/train/
// replicas.h) stalls on every line's ownership transfer (SgdStep was 6 % of a LeNet-5 step).
template <typename F>
void Slices(const Context& ctx, int64_t n, F body) {
  if (ctx.threads <= 1 || omp_in_parallel() || n < kMinParallelWork) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(ctx.threads)
  {
    const int64_t k = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t slice = ((n + k - 1) / k + 15) / 16 * 16;
    const int64_t begin = std::min(n, t * slice), end = std::min(n, begin + slice);
    if (begin < end) body(begin, end);
  }
}

// body(b, e) over [begin, end) in blocks of 16 KiB of parameters, each block's lines first
// asked for in the exclusive state (prefetch for writing, all at once). On the CPU the
// parameters are shared with the replicas on the other cores (engine/train/replicas.h), which
// have just read them: a plain update would wait for each line's ownership in turn. LeNet-5's
// SGD step on 2 threads: 100 -> 59 us.
template <typename T, typename F>
void Blocks(int64_t begin, int64_t end, const T* param, F body) {
  constexpr int64_t kBlock = 16384 / sizeof(T), kLine = 64 / sizeof(T);
  for (int64_t b = begin; b < end; b += kBlock) {
    const int64_t e = std::min(end, b + kBlock);
    for (int64_t i = b; i < e; i += kLine) __builtin_prefetch(param + i, 1, 3);
    body(b, e);
  }
}

template <typename T>
void SgdPlain(int64_t begin, int64_t end, T* __restrict param, const T* __restrict grad, T lr,
              T weight_decay) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    param[i] -= lr * WithWeightDecay(param[i], grad[i], weight_decay);
  }
}

template <typename T, bool kFirst>
void SgdMomentum(int64_t begin, int64_t end, T* __restrict param, const T* __restrict grad,
                 T* __restrict buf, T lr, T momentum, T weight_decay) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    const T g = WithWeightDecay(param[i], grad[i], weight_decay);
    const T b = SgdMomentumBuffer(g, buf[i], momentum, kFirst);
    buf[i] = b;
    param[i] -= lr * b;
  }
}

template <typename T>
void Adam(int64_t begin, int64_t end, T* __restrict param, const T* __restrict grad,
          T* __restrict m, T* __restrict v, AdamCorrections<T> c, T beta1, T beta2, T eps,
          T weight_decay) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    AdamElement(param[i], grad[i], m[i], v[i], c, beta1, beta2, eps, weight_decay);
  }
}

}  // namespace

// param, grad, momentum_buf: (n)
template <typename T>
void SgdStep(const Context& ctx, int64_t n, T* param, const T* grad, T* momentum_buf, T lr,
             T momentum, T weight_decay, bool first_step) {
  if (momentum == T(0)) {
    Slices(ctx, n, [&](int64_t b0, int64_t e0) {
      Blocks(b0, e0, param,
             [&](int64_t b, int64_t e) { SgdPlain(b, e, param, grad, lr, weight_decay); });
    });
    return;
  }
  Slices(ctx, n, [&](int64_t b0, int64_t e0) {
    Blocks(b0, e0, param, [&](int64_t b, int64_t e) {
      if (first_step) {
        SgdMomentum<T, true>(b, e, param, grad, momentum_buf, lr, momentum, weight_decay);
      } else {
        SgdMomentum<T, false>(b, e, param, grad, momentum_buf, lr, momentum, weight_decay);
      }
    });
  });
}

// param, grad, m, v: (n)
template <typename T>
void AdamStep(const Context& ctx, int64_t n, T* param, const T* grad, T* m, T* v, T lr, T beta1,
              T beta2, T eps, T weight_decay, int64_t step) {
  const AdamCorrections<T> c = AdamCorrectionsFor(lr, beta1, beta2, step);
  Slices(ctx, n, [&](int64_t b0, int64_t e0) {
    Blocks(b0, e0, param, [&](int64_t b, int64_t e) {
      Adam(b, e, param, grad, m, v, c, beta1, beta2, eps, weight_decay);
    });
  });
}

#define MT_INSTANTIATE(T)                                                             \
  template void SgdStep<T>(const Context&, int64_t, T*, const T*, T*, T, T, T, bool); \
  template void AdamStep<T>(const Context&, int64_t, T*, const T*, T*, T*, T, T, T, T, T, int64_t);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE

}  // namespace mt::kernels::cpu
