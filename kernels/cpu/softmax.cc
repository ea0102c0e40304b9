#include "kernels/cpu/softmax.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

namespace mt::kernels::cpu {
namespace {

// Below this many element-operations a parallel region costs more than it saves (exp is ~10
// additions, hence the lower threshold than for plain reductions).
constexpr int64_t kMinParallelWork = 1 << 13;
// Columns of `inner` one task handles; its running max/sum arrays stay in L1 and the loops over
// them are unit-stride.
constexpr int64_t kColumnBlock = 128;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Runs body(offset, w) for every (outer index, block of up to kColumnBlock columns); offset is
// the element offset of (o, 0, i0) in the (outer, n, inner) array and w the block width.
template <typename Body>
void ForEachColumnBlock(const Context& ctx, int64_t outer, int64_t n, int64_t inner, Body body) {
  if (outer <= 0 || inner <= 0 || n <= 0) return;
  const int64_t blocks = CeilDiv(inner, kColumnBlock);
  const bool threads = !omp_in_parallel() && outer * n * inner >= kMinParallelWork;
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (threads)
  for (int64_t t = 0; t < outer * blocks; ++t) {
    const int64_t o = t / blocks, i0 = (t % blocks) * kColumnBlock;
    body(o * n * inner + i0, std::min(kColumnBlock, inner - i0));
  }
}

// max[i] over the n rows of a column block; NaN is skipped here but reappears through
// exp(NaN - max), so a row holding NaN still yields NaN.
template <typename T>
void ColumnMax(const T* x, int64_t n, int64_t inner, int64_t w, T* max) {
  std::copy(x, x + w, max);
  for (int64_t j = 1; j < n; ++j) {
    const T* row = x + j * inner;
#pragma omp simd
    for (int64_t i = 0; i < w; ++i) max[i] = row[i] > max[i] ? row[i] : max[i];
  }
}

// The inner == 1 case (softmax over the last dim, the usual one): each task is one contiguous
// row, and these loops avoid the per-element bookkeeping of the column-block versions.
// x, y, g: (n)
template <typename T>
void SoftmaxRow(const T* x, int64_t n, T* y) {
  T max = x[0];
  for (int64_t j = 1; j < n; ++j) max = x[j] > max ? x[j] : max;
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    y[j] = std::exp(x[j] - max);
    sum += y[j];
  }
  const T inv = static_cast<T>(1.0 / sum);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j] *= inv;
}

template <typename T>
void LogSoftmaxRow(const T* x, int64_t n, T* y) {
  T max = x[0];
  for (int64_t j = 1; j < n; ++j) max = x[j] > max ? x[j] : max;
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += std::exp(x[j] - max);
  const T log_sum = static_cast<T>(std::log(sum));
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - max) - log_sum;
}

template <typename T>
void SoftmaxBackwardRow(const T* y, const T* g, int64_t n, T* gi) {
  double dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int64_t j = 0; j < n; ++j) dot += static_cast<double>(g[j]) * y[j];
  const T dot_t = static_cast<T>(dot);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) gi[j] = y[j] * (g[j] - dot_t);
}

template <typename T>
void LogSoftmaxBackwardRow(const T* y, const T* g, int64_t n, T* gi) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) sum += g[j];
  const T sum_t = static_cast<T>(sum);
  for (int64_t j = 0; j < n; ++j) gi[j] = g[j] - std::exp(y[j]) * sum_t;
}

}  // namespace

// in, out: (outer, n, inner)
template <typename T>
void SoftmaxForward(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner,
                    T* out) {
  ForEachColumnBlock(ctx, outer, n, inner, [&](int64_t off, int64_t w) {
    if (inner == 1) return SoftmaxRow(in + off, n, out + off);
    T max[kColumnBlock];
    double sum[kColumnBlock] = {};
    ColumnMax(in + off, n, inner, w, max);
    for (int64_t j = 0; j < n; ++j) {
      const T* x = in + off + j * inner;
      T* y = out + off + j * inner;
      for (int64_t i = 0; i < w; ++i) {
        y[i] = std::exp(x[i] - max[i]);
        sum[i] += y[i];
      }
    }
    T inv[kColumnBlock];
    for (int64_t i = 0; i < w; ++i) inv[i] = static_cast<T>(1.0 / sum[i]);
    for (int64_t j = 0; j < n; ++j) {
      T* y = out + off + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < w; ++i) y[i] *= inv[i];
    }
  });
}

// in, out: (outer, n, inner)
template <typename T>
void LogSoftmaxForward(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner,
                       T* out) {
  ForEachColumnBlock(ctx, outer, n, inner, [&](int64_t off, int64_t w) {
    if (inner == 1) return LogSoftmaxRow(in + off, n, out + off);
    T max[kColumnBlock];
    double sum[kColumnBlock] = {};
    ColumnMax(in + off, n, inner, w, max);
    for (int64_t j = 0; j < n; ++j) {
      const T* x = in + off + j * inner;
      for (int64_t i = 0; i < w; ++i) sum[i] += std::exp(x[i] - max[i]);
    }
    T log_sum[kColumnBlock];
    for (int64_t i = 0; i < w; ++i) log_sum[i] = static_cast<T>(std::log(sum[i]));
    for (int64_t j = 0; j < n; ++j) {
      const T* x = in + off + j * inner;
      T* y = out + off + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < w; ++i) y[i] = (x[i] - max[i]) - log_sum[i];
    }
  });
}

// out, grad_out, grad_in: (outer, n, inner)
template <typename T>
void SoftmaxBackward(const Context& ctx, const T* out, const T* grad_out, int64_t outer, int64_t n,
                     int64_t inner, T* grad_in) {
  ForEachColumnBlock(ctx, outer, n, inner, [&](int64_t off, int64_t w) {
    if (inner == 1) return SoftmaxBackwardRow(out + off, grad_out + off, n, grad_in + off);
    double dot[kColumnBlock] = {};
    for (int64_t j = 0; j < n; ++j) {
      const T* y = out + off + j * inner;
      const T* g = grad_out + off + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < w; ++i) dot[i] += static_cast<double>(g[i]) * y[i];
    }
    T dot_t[kColumnBlock];
    for (int64_t i = 0; i < w; ++i) dot_t[i] = static_cast<T>(dot[i]);
    for (int64_t j = 0; j < n; ++j) {
      const T* y = out + off + j * inner;
      const T* g = grad_out + off + j * inner;
      T* gi = grad_in + off + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < w; ++i) gi[i] = y[i] * (g[i] - dot_t[i]);
    }
  });
}

// out, grad_out, grad_in: (outer, n, inner)
template <typename T>
void LogSoftmaxBackward(const Context& ctx, const T* out, const T* grad_out, int64_t outer,
                        int64_t n, int64_t inner, T* grad_in) {
  ForEachColumnBlock(ctx, outer, n, inner, [&](int64_t off, int64_t w) {
    if (inner == 1) return LogSoftmaxBackwardRow(out + off, grad_out + off, n, grad_in + off);
    double sum[kColumnBlock] = {};
    for (int64_t j = 0; j < n; ++j) {
      const T* g = grad_out + off + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < w; ++i) sum[i] += g[i];
    }
    T sum_t[kColumnBlock];
    for (int64_t i = 0; i < w; ++i) sum_t[i] = static_cast<T>(sum[i]);
    for (int64_t j = 0; j < n; ++j) {
      const T* y = out + off + j * inner;
      const T* g = grad_out + off + j * inner;
      T* gi = grad_in + off + j * inner;
      for (int64_t i = 0; i < w; ++i) gi[i] = g[i] - std::exp(y[i]) * sum_t[i];
    }
  });
}

#define MT_INSTANTIATE(T)                                                                         \
  template void SoftmaxForward<T>(const Context&, const T*, int64_t, int64_t, int64_t, T*);       \
  template void LogSoftmaxForward<T>(const Context&, const T*, int64_t, int64_t, int64_t, T*);    \
  template void SoftmaxBackward<T>(const Context&, const T*, const T*, int64_t, int64_t, int64_t, \
                                   T*);                                                           \
  template void LogSoftmaxBackward<T>(const Context&, const T*, const T*, int64_t, int64_t,       \
                                      int64_t, T*);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE

}  // namespace mt::kernels::cpu
