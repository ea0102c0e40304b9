#include "kernels/cpu/reduce.h"

#include <omp.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace mt::kernels::cpu {
namespace {

// Below this many elements touched, a parallel region costs more than it saves.
constexpr int64_t kMinParallelWork = 1 << 16;
// Columns of `inner` one task handles: its per-column accumulators stay in L1, and the loop
// over them is unit-stride so it vectorises.
constexpr int64_t kColumnBlock = 256;
// A long contiguous sum is defined as the in-order sum of the sums of fixed pieces of this
// size. The serial and the parallel path then produce identical bits, whatever the thread count.
constexpr int64_t kSumPiece = 1 << 14;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool UseThreads(int64_t work) { return !omp_in_parallel() && work >= kMinParallelWork; }

template <typename T>
double SumPiece(const T* x, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

// NaN beats everything and the first NaN sticks; otherwise strictly greater wins, so ties keep
// the earliest index.
template <typename T>
bool Beats(T v, T best) {
  return v > best || (v != v && best == best);
}

}  // namespace

// in: (outer, n, inner)  out: (outer, inner)
template <typename T>
void SumDim(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner, T* out) {
  if (outer <= 0 || inner <= 0) return;
  const bool threads = UseThreads(outer * n * inner);
  if (inner == 1) {
    const int64_t pieces = CeilDiv(n, kSumPiece);
    if (pieces <= 1) {
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (threads)
      for (int64_t o = 0; o < outer; ++o) out[o] = static_cast<T>(SumPiece(in + o * n, n));
      return;
    }
    // Long rows: spread the pieces of every row over the threads, then add them in order.
    std::vector<double> partial(outer * pieces);
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (threads)
    for (int64_t t = 0; t < outer * pieces; ++t) {
      const int64_t o = t / pieces, p = (t % pieces) * kSumPiece;
      partial[t] = SumPiece(in + o * n + p, std::min(kSumPiece, n - p));
    }
    for (int64_t o = 0; o < outer; ++o) {
      double s = 0;
      for (int64_t p = 0; p < pieces; ++p) s += partial[o * pieces + p];
      out[o] = static_cast<T>(s);
    }
    return;
  }
  const int64_t blocks = CeilDiv(inner, kColumnBlock);
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (threads)
  for (int64_t t = 0; t < outer * blocks; ++t) {
    const int64_t o = t / blocks, i0 = (t % blocks) * kColumnBlock;
    const int64_t w = std::min(kColumnBlock, inner - i0);
    double acc[kColumnBlock];
    std::fill(acc, acc + w, 0.0);
    for (int64_t j = 0; j < n; ++j) {
      const T* row = in + (o * n + j) * inner + i0;
#pragma omp simd
      for (int64_t i = 0; i < w; ++i) acc[i] += row[i];
    }
    for (int64_t i = 0; i < w; ++i) out[o * inner + i0 + i] = static_cast<T>(acc[i]);
  }
}

// in: (outer, n, inner)  out, argmax: (outer, inner). With n == 0 the max is -inf and argmax
// -1 (no element), which MaxDimBackward never dereferences since grad_in is then empty.
template <typename T>
void MaxDim(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner, T* out,
            int64_t* argmax) {
  if (outer <= 0 || inner <= 0) return;
  if (n <= 0) {
    std::fill(out, out + outer * inner, -std::numeric_limits<T>::infinity());
    if (argmax != nullptr) std::fill(argmax, argmax + outer * inner, int64_t{-1});
    return;
  }
  const int64_t blocks = CeilDiv(inner, kColumnBlock);
#pragma omp parallel for schedule(static) \
    num_threads(ctx.threads) if (UseThreads(outer * n * inner))
  for (int64_t t = 0; t < outer * blocks; ++t) {
    const int64_t o = t / blocks, i0 = (t % blocks) * kColumnBlock;
    const int64_t w = std::min(kColumnBlock, inner - i0);
    if (inner == 1) {
      // One contiguous row (Kim CNN's max over time). A scan that branches on every comparison
      // mispredicts on ReLU outputs full of ties; instead: the first NaN if there is one (NaN
      // counts as the maximum), else a vectorised max and the first position holding it.
      const T* row = in + o * n;
      int64_t arg = -1;
      for (int64_t j = 0; j < n; ++j) {
        if (row[j] != row[j]) {
          arg = j;
          break;
        }
      }
      if (arg < 0) {
        T m = row[0];
#pragma omp simd reduction(max : m)
        for (int64_t j = 1; j < n; ++j) m = row[j] > m ? row[j] : m;
        arg = 0;
        while (row[arg] != m) ++arg;  // == treats -0 and +0 alike, as the scan's > did
      }
      out[o] = row[arg];
      if (argmax != nullptr) argmax[o] = arg;
      continue;
    }
    T best[kColumnBlock];
    int64_t arg[kColumnBlock];
    const T* base = in + o * n * inner + i0;
    for (int64_t i = 0; i < w; ++i) {
      best[i] = base[i];
      arg[i] = 0;
    }
    for (int64_t j = 1; j < n; ++j) {
      const T* row = base + j * inner;
#pragma omp simd
      for (int64_t i = 0; i < w; ++i) {
        const bool win = Beats(row[i], best[i]);
        best[i] = win ? row[i] : best[i];
        arg[i] = win ? j : arg[i];
      }
    }
    std::copy(best, best + w, out + o * inner + i0);
    if (argmax != nullptr) std::copy(arg, arg + w, argmax + o * inner + i0);
  }
}

// grad_out, argmax: (outer, inner)  grad_in: (outer, n, inner)
template <typename T>
void MaxDimBackward(const Context& ctx, const T* grad_out, const int64_t* argmax, int64_t outer,
                    int64_t n, int64_t inner, T* grad_in) {
  if (outer <= 0 || inner <= 0 || n <= 0) return;
#pragma omp parallel for schedule(static) \
    num_threads(ctx.threads) if (UseThreads(outer * n * inner))
  for (int64_t o = 0; o < outer; ++o) {
    T* slab = grad_in + o * n * inner;
    std::fill(slab, slab + n * inner, T(0));
    for (int64_t i = 0; i < inner; ++i) {
      slab[argmax[o * inner + i] * inner + i] = grad_out[o * inner + i];
    }
  }
}

#define MT_INSTANTIATE(T)                                                                     \
  template void SumDim<T>(const Context&, const T*, int64_t, int64_t, int64_t, T*);           \
  template void MaxDim<T>(const Context&, const T*, int64_t, int64_t, int64_t, T*, int64_t*); \
  template void MaxDimBackward<T>(const Context&, const T*, const int64_t*, int64_t, int64_t, \
                                  int64_t, T*);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE

}  // namespace mt::kernels::cpu
