#include "kernels/cpu/matmul.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mt::kernels::cpu {
namespace {

// Goto/BLIS-style blocking. The micro-kernel keeps a kMr x kNr tile of C in registers: for
// AVX2 that is 6 rows x 2 vectors = 12 of the 16 ymm registers, leaving room for two vectors of
// B and one broadcast of A. A kKc x kNr sliver of packed B (16 KiB) stays in L1 while the
// micro-kernel sweeps a kMc x kKc block of packed A (96-144 KiB) held in L2; a kKc x kNc panel
// of packed B lives in L3 across the blocks of A.
template <typename T>
struct Blocking;

template <>
struct Blocking<float> {
  static constexpr int kMr = 6;
  static constexpr int kNr = 16;
  static constexpr int64_t kKc = 256;
  static constexpr int64_t kMc = 96;
  static constexpr int64_t kNc = 4096;
};

template <>
struct Blocking<double> {
  static constexpr int kMr = 6;
  static constexpr int kNr = 8;
  static constexpr int64_t kKc = 256;
  static constexpr int64_t kMc = 72;
  static constexpr int64_t kNc = 2048;
};

// Below this many multiply-adds (about 64^3) a parallel region costs more than it saves.
constexpr double kMinParallelMacs = 262144.0;
// A task is a block of rows of C times a group of B slivers; aim for this many tasks per thread
// so uneven edge blocks do not leave threads idle.
constexpr int64_t kTasksPerThread = 4;
// Elements of packed B shared by the team (8 MiB of float): several kKc x kNc panels.
constexpr int64_t kPackedBBudget = int64_t{1} << 21;
// Fewest B slivers per task: each task packs its own block of A, which costs about
// 1 / (2 * kNr * slivers) of its multiply work.
constexpr int64_t kMinSliversPerTask = 4;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Packing buffers, 64-byte aligned, grown on demand and kept per thread so that a Gemm per conv
// sample or per batch entry does not go back to malloc. Slot 0 holds packed B (shared by the
// team of the thread that called Gemm), slot 1 a thread's own packed A (or, for a
// matrix-vector product, the gathered vector).
template <typename T>
T* Scratch(int slot, size_t count) {
  struct Buffer {
    T* data = nullptr;
    size_t capacity = 0;
    ~Buffer() { ::operator delete(data, std::align_val_t(64)); }
  };
  thread_local Buffer buffers[2];
  Buffer& b = buffers[slot];
  if (b.capacity < count) {
    ::operator delete(b.data, std::align_val_t(64));
    b.data = static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t(64)));
    b.capacity = count;
  }
  return b.data;
}

#if defined(__AVX2__)
// dst[p * 16 + r] = rows[r][p] for r, p < 8: an 8x8 transpose in registers, so the transposed
// pack below writes whole vectors instead of one float per 64-byte row of the sliver. Named
// variables, not arrays: GCC spills __m256 arrays to the stack, and reloading their halves
// defeats store forwarding.
inline void Transpose8x8Into(const float* const rows[8], float* dst) {
  const __m256 r0 = _mm256_loadu_ps(rows[0]), r1 = _mm256_loadu_ps(rows[1]);
  const __m256 r2 = _mm256_loadu_ps(rows[2]), r3 = _mm256_loadu_ps(rows[3]);
  const __m256 r4 = _mm256_loadu_ps(rows[4]), r5 = _mm256_loadu_ps(rows[5]);
  const __m256 r6 = _mm256_loadu_ps(rows[6]), r7 = _mm256_loadu_ps(rows[7]);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  // sq: column q of rows 0-3 (low lane) and column q + 4 (high lane); sq + 4: rows 4-7.
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(dst + 0 * 16, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + 1 * 16, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * 16, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * 16, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * 16, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * 16, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * 16, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * 16, _mm256_permute2f128_ps(s3, s7, 0x31));
}

#endif

// Packs alpha * op(A)[ic : ic + mc, pc : pc + kc] as consecutive kMr-row slivers, each stored
// column by column (dst[p * kMr + i]) so the micro-kernel reads it sequentially. Rows past mc are
// zero, so edge tiles can run the full-size kernel.
template <typename T>
void PackA(bool trans_a, const T* a, int64_t lda, int64_t ic, int64_t mc, int64_t pc,
           int64_t kc, T alpha, T* dst) {
  constexpr int kMr = Blocking<T>::kMr;
  for (int64_t ir = 0; ir < mc; ir += kMr) {
    const int mr = static_cast<int>(std::min<int64_t>(kMr, mc - ir));
    T* d = dst + ir * kc;
    if (!trans_a) {
      for (int i = 0; i < mr; ++i) {
        const T* src = a + (ic + ir + i) * lda + pc;
        for (int64_t p = 0; p < kc; ++p) d[p * kMr + i] = alpha * src[p];
      }
      for (int i = mr; i < kMr; ++i) {
        for (int64_t p = 0; p < kc; ++p) d[p * kMr + i] = T(0);
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = a + (pc + p) * lda + ic + ir;
        for (int i = 0; i < mr; ++i) d[p * kMr + i] = alpha * src[i];
        for (int i = mr; i < kMr; ++i) d[p * kMr + i] = T(0);
      }
    }
  }
}


// Packs one kNr-column sliver of op(B)[pc : pc + kc, j0 : j0 + nr] row by row
// (dst[p * kNr + j]), zero beyond nr.
template <typename T>
void PackBSliver(bool trans_b, const T* b, int64_t ldb, int64_t pc, int64_t kc, int64_t j0,
                 int nr, T* dst) {
  constexpr int kNr = Blocking<T>::kNr;
  if (!trans_b) {
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = b + (pc + p) * ldb + j0;
      T* d = dst + p * kNr;
      if (nr == kNr) {
        std::copy(src, src + kNr, d);
      } else {
        std::copy(src, src + nr, d);
        std::fill(d + nr, d + kNr, T(0));
      }
    }
    return;
  }
  // Transposed: column j of the sliver is row j0 + j of B.
  int64_t p_done = 0;
#if defined(__AVX2__)
  if constexpr (std::is_same_v<T, float> && kNr == 16) {
    static const float kZeros[8] = {};
    const int64_t p_blocks = kc / 8 * 8;
    for (int jb = 0; jb < kNr; jb += 8) {
      const float* rows[8];  // null: a column past nr, which packs as zeros
      for (int r = 0; r < 8; ++r) rows[r] = jb + r < nr ? b + (j0 + jb + r) * ldb + pc : nullptr;
      if (jb >= nr) {
        for (int64_t p = 0; p < kc; ++p) std::fill(dst + p * kNr + jb, dst + p * kNr + jb + 8, 0.f);
        continue;
      }
      for (int64_t p0 = 0; p0 < p_blocks; p0 += 8) {
        const float* block_rows[8];
        for (int r = 0; r < 8; ++r) block_rows[r] = rows[r] != nullptr ? rows[r] + p0 : kZeros;
        Transpose8x8Into(block_rows, dst + p0 * kNr + jb);
      }
    }
    p_done = p_blocks;
  }
#endif
  for (int j = 0; j < nr; ++j) {
    const T* src = b + (j0 + j) * ldb + pc;
    for (int64_t p = p_done; p < kc; ++p) dst[p * kNr + j] = src[p];
  }
  for (int j = nr; j < kNr; ++j) {
    for (int64_t p = p_done; p < kc; ++p) dst[p * kNr + j] = T(0);
  }
}

// C[0:mr, 0:nc] = beta * C + A_sliver * B_sliver over kc, with beta == 0 never reading C.
// Row p of the B sliver starts at bp + p * ldbp: kNr for packed B, ldb when the micro-kernel
// reads a full-width sliver of row-major B in place.
// The fixed-size loops below are what GCC turns into 12 register-resident FMA accumulators;
// keep the tile a local array of compile-time shape or that stops happening.
// kInPlace compiles the packed case with its stride a constant (the hot loop must stay free of
// the extra address arithmetic).
template <bool kInPlace, typename T>
void MicroKernel(int64_t kc, const T* __restrict ap, const T* __restrict bp, int64_t ldbp, int mr,
                 int nr, T beta, T* __restrict c, int64_t ldc) {
  constexpr int kMr = Blocking<T>::kMr;
  constexpr int kNr = Blocking<T>::kNr;
  const int64_t stride = kInPlace ? ldbp : kNr;
  T acc[kMr][kNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const T* __restrict brow = bp + p * stride;
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      const T ai = ap[p * kMr + i];
#pragma omp simd
      for (int j = 0; j < kNr; ++j) acc[i][j] += ai * brow[j];
    }
  }
  if (mr == kMr && nr == kNr) {
    for (int i = 0; i < kMr; ++i) {
      T* ci = c + i * ldc;
      if (beta == T(0)) {
#pragma omp simd
        for (int j = 0; j < kNr; ++j) ci[j] = acc[i][j];
      } else if (beta == T(1)) {
#pragma omp simd
        for (int j = 0; j < kNr; ++j) ci[j] += acc[i][j];
      } else {
#pragma omp simd
        for (int j = 0; j < kNr; ++j) ci[j] = beta * ci[j] + acc[i][j];
      }
    }
    return;
  }
  for (int i = 0; i < mr; ++i) {
    T* ci = c + i * ldc;
    for (int j = 0; j < nr; ++j) {
      ci[j] = beta == T(0) ? acc[i][j] : beta * ci[j] + acc[i][j];
    }
  }
}

// Whether the float products may use AVX-512 (MicroKernelPairAvx512): the CPU and the OS
// support it (cpuid and the saved register state, as libgcc's check reads them), and the
// environment does not say MT_CPU_AVX512=off. Read once.
bool CpuAllowsAvx512() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool use = [] {
    const char* env = std::getenv("MT_CPU_AVX512");
    if (env != nullptr && std::strcmp(env, "off") == 0) return false;
    __builtin_cpu_init();  // harmless after startup; needed if first called from a constructor
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return use;
#else
  return false;
#endif
}

std::atomic<bool> g_avx512_allowed{true};  // Avx512ForTesting

bool UseAvx512() {
  return CpuAllowsAvx512() && g_avx512_allowed.load(std::memory_order_relaxed);
}

#if defined(__x86_64__) && defined(__GNUC__)
// Two float micro-tiles side by side, C[0:rows, 0:32] = beta * C + A_sliver * [B0 B1], both
// 16 columns wide:
// each row of each tile is one 16-float zmm register, so 12 accumulators take every p as
// MicroKernel's 12 ymm do -- the same fused multiply-add per element in the same order, the
// same bits -- at twice the width (this machine's two 512-bit FMA units ran 1.9x the AVX2
// loop's GFLOP/s). kInPlace as in MicroKernel: rows of the B slivers ldbp apart.
// kRows (<= kMr) rows of the tiles: packed A keeps kMr values per p, the rows past kRows
// (zero padding at the edge of C) are neither computed nor stored.
template <bool kInPlace, int kRows>
__attribute__((target("avx512f"))) void MicroKernelPairRowsAvx512(
    int64_t kc, const float* __restrict ap, const float* __restrict bp0,
    const float* __restrict bp1, int64_t ldbp, float beta, float* __restrict c, int64_t ldc) {
  constexpr int kMr = Blocking<float>::kMr;
  static_assert(Blocking<float>::kNr == 16, "one zmm register per row of a tile");
  static_assert(kRows >= 1 && kRows <= kMr, "rows of a micro-tile");
  const int64_t stride = kInPlace ? ldbp : 16;
  __m512 acc0[kRows], acc1[kRows];
  for (int i = 0; i < kRows; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(bp0 + p * stride), b1 = _mm512_loadu_ps(bp1 + p * stride);
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const __m512 a = _mm512_set1_ps(ap[p * kMr + i]);
      acc0[i] = _mm512_fmadd_ps(a, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(a, b1, acc1[i]);
    }
  }
  const __m512 vbeta = _mm512_set1_ps(beta);
  for (int i = 0; i < kRows; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      _mm512_storeu_ps(ci, acc0[i]);
      _mm512_storeu_ps(ci + 16, acc1[i]);
    } else if (beta == 1.0f) {
      _mm512_storeu_ps(ci, _mm512_add_ps(_mm512_loadu_ps(ci), acc0[i]));
      _mm512_storeu_ps(ci + 16, _mm512_add_ps(_mm512_loadu_ps(ci + 16), acc1[i]));
    } else {
      _mm512_storeu_ps(ci, _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(ci), acc0[i]));
      _mm512_storeu_ps(ci + 16, _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(ci + 16), acc1[i]));
    }
  }
}

template <bool kInPlace>
void PairRows(int64_t kc, const float* ap, const float* bp0, const float* bp1, int64_t ldbp,
              int mr, float beta, float* c, int64_t ldc) {
  switch (mr) {
    case 1: return MicroKernelPairRowsAvx512<kInPlace, 1>(kc, ap, bp0, bp1, ldbp, beta, c, ldc);
    case 2: return MicroKernelPairRowsAvx512<kInPlace, 2>(kc, ap, bp0, bp1, ldbp, beta, c, ldc);
    case 3: return MicroKernelPairRowsAvx512<kInPlace, 3>(kc, ap, bp0, bp1, ldbp, beta, c, ldc);
    case 4: return MicroKernelPairRowsAvx512<kInPlace, 4>(kc, ap, bp0, bp1, ldbp, beta, c, ldc);
    case 5: return MicroKernelPairRowsAvx512<kInPlace, 5>(kc, ap, bp0, bp1, ldbp, beta, c, ldc);
    default: return MicroKernelPairRowsAvx512<kInPlace, 6>(kc, ap, bp0, bp1, ldbp, beta, c, ldc);
  }
}

// The pair kernel for mr (1..kMr) rows, B slivers in place (rows ldbp apart) or packed.
void MicroKernelPairAvx512(bool in_place, int64_t kc, const float* ap, const float* bp0,
                           const float* bp1, int64_t ldbp, int mr, float beta, float* c,
                           int64_t ldc) {
  if (in_place) {
    PairRows<true>(kc, ap, bp0, bp1, ldbp, mr, beta, c, ldc);
  } else {
    PairRows<false>(kc, ap, bp0, bp1, ldbp, mr, beta, c, ldc);
  }
}
#else
// Never called: UseAvx512() is false where this is not compiled.
void MicroKernelPairAvx512(bool, int64_t, const float*, const float*, const float*, int64_t, int,
                           float, float*, int64_t) {}
#endif

// C = beta * C for the degenerate products (k == 0 or alpha == 0), as BLAS does.
template <typename T>
void ScaleC(int64_t m, int64_t n, T beta, T* c, int64_t ldc) {
  if (beta == T(1)) return;
  for (int64_t i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    if (beta == T(0)) {
      std::fill(ci, ci + n, T(0));
    } else {
      for (int64_t j = 0; j < n; ++j) ci[j] *= beta;
    }
  }
}

// Matrix-vector products (m == 1 or n == 1, e.g. a linear layer serving one request) skip
// packing: it would copy the whole matrix once to read it once, and pad the vector to a full
// micro-tile. These two loops read the matrix exactly once, unit-stride.

// y[i * incy] = alpha * dot(rows[i * ld : i * ld + k], x) + beta * y[i * incy], i < count.
// rows: (count, k) with row stride ld  x: (k) contiguous  y: (count) with stride incy.
template <typename T>
void RowDots(int64_t count, int64_t k, T alpha, const T* rows, int64_t ld, const T* x, T beta, T* y,
             int64_t incy, bool parallel, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads) if (parallel)
  for (int64_t i = 0; i < count; ++i) {
    const T* r = rows + i * ld;
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t p = 0; p < k; ++p) dot += r[p] * x[p];
    y[i * incy] = beta == T(0) ? alpha * dot : alpha * dot + beta * y[i * incy];
  }
}

// y[j * incy] = alpha * sum_p w[p * incw] * rows[p * ld + j] + beta * y[j * incy], j < count.
// rows: (k, count) with row stride ld  w: (k) with stride incw  y: (count) with stride incy.
template <typename T>
void WeightedRowSum(int64_t count, int64_t k, T alpha, const T* rows, int64_t ld, const T* w,
                    int64_t incw, T beta, T* y, int64_t incy, bool parallel, int threads) {
  constexpr int64_t kBlock = 256;  // Accumulators for one block of columns stay in L1.
  const int64_t blocks = CeilDiv(count, kBlock);
#pragma omp parallel for schedule(static) num_threads(threads) if (parallel && blocks > 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t j0 = blk * kBlock, width = std::min(kBlock, count - j0);
    T acc[kBlock] = {};
    for (int64_t p = 0; p < k; ++p) {
      const T wp = w[p * incw];
      const T* r = rows + p * ld + j0;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) acc[j] += wp * r[j];
    }
    for (int64_t j = 0; j < width; ++j) {
      T* yj = y + (j0 + j) * incy;
      *yj = beta == T(0) ? alpha * acc[j] : alpha * acc[j] + beta * *yj;
    }
  }
}

// Handles m == 1 or n == 1. The vector operand is gathered into scratch when strided.
template <typename T>
void Gemv(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, bool parallel,
          int threads) {
  auto contiguous = [&](const T* v, int64_t inc) {
    if (inc == 1) return v;
    T* buffer = Scratch<T>(1, k);
    for (int64_t p = 0; p < k; ++p) buffer[p] = v[p * inc];
    return static_cast<const T*>(buffer);
  };
  if (m == 1) {
    // c (1, n): x_p = op(A)[0, p].
    const int64_t inc_x = trans_a ? lda : 1;
    if (trans_b) {  // B stored (n, k): one dot per output.
      RowDots(n, k, alpha, b, ldb, contiguous(a, inc_x), beta, c, 1, parallel, threads);
    } else {  // B stored (k, n): a weighted sum of its rows.
      WeightedRowSum(n, k, alpha, b, ldb, a, inc_x, beta, c, 1, parallel, threads);
    }
    return;
  }
  // n == 1, c (m, 1) with stride ldc: x_p = op(B)[p, 0].
  const int64_t inc_x = trans_b ? 1 : ldb;
  if (!trans_a) {  // A stored (m, k).
    RowDots(m, k, alpha, a, lda, contiguous(b, inc_x), beta, c, ldc, parallel, threads);
  } else {  // A stored (k, m).
    WeightedRowSum(m, k, alpha, a, lda, b, inc_x, beta, c, ldc, parallel, threads);
  }
}

// Each element of C is accumulated by exactly one task, over k in the same order whatever the
// thread count, so the result does not depend on how the work is split.
// Where block (row block ic / kMc, k block from pc) of a whole packed op(A) starts: row blocks
// one after another, each its full k; within one, k blocks of mc_pad x kc (see PackedA).
int64_t PackedABlockOffset(int64_t ic, int64_t mc, int64_t pc, int64_t k, int mr) {
  const int64_t mc_pad = CeilDiv(mc, mr) * mr;
  return ic * k + pc * mc_pad;
}

// prepacked: all of alpha * op(A) packed by PackWholeA (then a, lda and trans_a are unused), or
// null to pack block by block here.
template <typename T>
void GemmImpl(const Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
              T alpha, const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
              int64_t ldc, const T* prepacked = nullptr) {
  using B = Blocking<T>;
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {
    ScaleC(m, n, beta, c, ldc);
    return;
  }
  const bool parallel =
      !omp_in_parallel() && ctx.threads > 1 && static_cast<double>(m) * n * k >= kMinParallelMacs;
  if (m == 1 || n == 1) {
    Gemv(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, parallel, ctx.threads);
    return;
  }
  const int threads = parallel ? ctx.threads : 1;
  const int64_t row_blocks = CeilDiv(m, B::kMc);
  const int64_t nc_max = CeilDiv(std::min(n, B::kNc), B::kNr) * B::kNr;
  // Rows of op(B) packed per round: as many kKc blocks as fit the budget, so that most products
  // need one round and the team meets at a barrier twice in all, not twice per kKc block. Every
  // barrier costs a scheduler time slice whenever a thread has lost its core to another process.
  const int64_t k_round =
      std::min(k, std::max<int64_t>(1, kPackedBBudget / (nc_max * B::kKc)) * B::kKc);
  T* packed_b = Scratch<T>(0, k_round * nc_max);
  // Few rows of C (a conv's output channels times a sample's pixels): each element of B is used
  // by at most two blocks of A, so packing B would copy it once to read it about once. The
  // micro-kernel then reads full-width slivers of row-major B in place; only a ragged last
  // sliver is packed (zero-padded).
  const bool direct_b = !trans_b && row_blocks <= 2;
  // Read once per product, not per micro-tile.
  const bool avx512_pairs = std::is_same_v<T, float> && UseAvx512();

  // An exception must not leave an OpenMP region (the process would abort). A thread whose
  // packed-A buffer cannot be allocated skips its tasks and the failure is rethrown after the
  // region; C is then garbage, but the caller gets std::bad_alloc instead of a dead process.
  bool out_of_memory = false;
#pragma omp parallel num_threads(threads) if (parallel)
  {
    T* packed_a = nullptr;
    if (prepacked == nullptr) {
      try {
        packed_a = Scratch<T>(1, B::kMc * std::min(k, B::kKc));
      } catch (const std::bad_alloc&) {
#pragma omp atomic write
        out_of_memory = true;
      }
    }
    for (int64_t jc = 0; jc < n; jc += B::kNc) {
      const int64_t nc = std::min(B::kNc, n - jc);
      const int64_t slivers = CeilDiv(nc, B::kNr);
      const int64_t nc_pad = slivers * B::kNr;
      // Split columns too when there are too few row blocks to keep every thread busy (a
      // linear layer with a small batch has a single row block).
      int64_t groups = 1;
      if (threads > 1) {
        groups = std::clamp(CeilDiv(kTasksPerThread * threads, row_blocks), int64_t{1},
                            std::max(int64_t{1}, slivers / kMinSliversPerTask));
      }
      const int64_t slivers_per_group = CeilDiv(slivers, groups);
      groups = CeilDiv(slivers, slivers_per_group);
      for (int64_t k0 = 0; k0 < k; k0 += k_round) {
        const int64_t k_blocks = CeilDiv(std::min(k_round, k - k0), B::kKc);
        // Packed B of this round: block q (rows k0 + q * kKc onwards) starts at q * kKc * nc_pad
        // and holds its slivers one after another.
#pragma omp for schedule(static)
        for (int64_t qs = 0; qs < k_blocks * slivers; ++qs) {
          const int64_t q = qs / slivers, s = qs % slivers;
          const int64_t pc = k0 + q * B::kKc, kc = std::min(B::kKc, k - pc);
          const int nr = static_cast<int>(std::min<int64_t>(B::kNr, nc - s * B::kNr));
          if (direct_b && nr == B::kNr) continue;
          PackBSliver(trans_b, b, ldb, pc, kc, jc + s * B::kNr, nr,
                      packed_b + q * B::kKc * nc_pad + s * B::kNr * kc);
        }
        // (Implicit barrier: B is fully packed before anyone multiplies.)
#pragma omp for schedule(dynamic, 1)
        for (int64_t task = 0; task < row_blocks * groups; ++task) {
          const int64_t ic = (task / groups) * B::kMc;
          const int64_t mc = std::min(B::kMc, m - ic);
          const int64_t s0 = (task % groups) * slivers_per_group;
          const int64_t s1 = std::min(slivers, s0 + slivers_per_group);
          // Out of memory: reported after the region.
          if (packed_a == nullptr && prepacked == nullptr) continue;
          // k blocks in ascending order: every element of C sums over k in the same order
          // whatever the split, so results do not depend on the thread count.
          for (int64_t q = 0; q < k_blocks; ++q) {
            const int64_t pc = k0 + q * B::kKc, kc = std::min(B::kKc, k - pc);
            const T beta_now = pc == 0 ? beta : T(1);
            const T* block_a = packed_a;
            if (prepacked != nullptr) {
              block_a = prepacked + PackedABlockOffset(ic, mc, pc, k, B::kMr);
            } else {
              PackA(trans_a, a, lda, ic, mc, pc, kc, alpha, packed_a);
            }
            const T* packed_b_block = packed_b + q * B::kKc * nc_pad;
            for (int64_t s = s0; s < s1; ++s) {
              const int64_t j = jc + s * B::kNr;
              const int nr = static_cast<int>(std::min<int64_t>(B::kNr, n - j));
              const bool in_place = direct_b && nr == B::kNr;
              const T* bp = in_place ? b + pc * ldb + j : packed_b_block + s * B::kNr * kc;
              const int64_t ldbp = in_place ? ldb : B::kNr;
              // With AVX-512, this sliver and the next (both full, so read the same way) in
              // one pass of twice the width, whatever the rows.
              const bool pair = avx512_pairs && s + 1 < s1 && nc - s * B::kNr >= 2 * B::kNr;
              const T* bp_next =
                  in_place ? bp + B::kNr : packed_b_block + (s + 1) * B::kNr * kc;  // if pair
              for (int64_t ir = 0; ir < mc; ir += B::kMr) {
                const int mr = static_cast<int>(std::min<int64_t>(B::kMr, mc - ir));
                T* c_tile = c + (ic + ir) * ldc + j;
                if constexpr (std::is_same_v<T, float>) {
                  if (pair) {
                    MicroKernelPairAvx512(in_place, kc, block_a + ir * kc, bp, bp_next, ldbp, mr,
                                          beta_now, c_tile, ldc);
                    continue;
                  }
                }
                if (in_place) {
                  MicroKernel<true>(kc, block_a + ir * kc, bp, ldbp, mr, nr, beta_now, c_tile,
                                    ldc);
                } else {
                  MicroKernel<false>(kc, block_a + ir * kc, bp, ldbp, mr, nr, beta_now, c_tile,
                                     ldc);
                }
              }
              if (pair) ++s;  // the next sliver is done too
            }
          }
        }
        // (Implicit barrier: nobody repacks B while another thread still reads it.)
      }
    }
  }
  if (out_of_memory) throw std::bad_alloc();
}

}  // namespace

bool GemmUsesAvx512() { return UseAvx512(); }
void Avx512ForTesting(bool allow) { g_avx512_allowed.store(allow); }

// op(A): (m, k)  op(B): (k, n)  C: (m, n); row strides lda, ldb, ldc.
template <typename T>
void Gemm(const Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
          const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  GemmImpl(ctx, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <typename T>
int64_t PackedA<T>::Size(int64_t m, int64_t k) {
  using B = Blocking<T>;
  if (m <= 0 || k <= 0) return 0;
  const int64_t last_ic = (m - 1) / B::kMc * B::kMc;
  return PackedABlockOffset(last_ic, m - last_ic, k, k, B::kMr);
}

template <typename T>
PackedA<T>::PackedA(bool trans_a, int64_t m, int64_t k, T alpha, const T* a, int64_t lda)
    : m_(m), k_(k), data_(static_cast<size_t>(Size(m, k))) {
  using B = Blocking<T>;
  for (int64_t ic = 0; ic < m; ic += B::kMc) {
    const int64_t mc = std::min(B::kMc, m - ic);
    for (int64_t pc = 0; pc < k; pc += B::kKc) {
      const int64_t kc = std::min(B::kKc, k - pc);
      PackA(trans_a, a, lda, ic, mc, pc, kc, alpha,
            data_.data() + PackedABlockOffset(ic, mc, pc, k, B::kMr));
    }
  }
}

template <typename T>
void GemmPackedA(const Context& ctx, const PackedA<T>& a, int64_t n, bool trans_b, const T* b,
                 int64_t ldb, T beta, T* c, int64_t ldc) {
  const int64_t m = a.rows(), k = a.depth();
  // Products the packed path does not cover (matrix-vector, empty) take the plain one, which
  // never reads the packed copy's source: there is none; they are rare enough to unpack for.
  if (m <= 1 || n <= 1 || k <= 0) {
    std::vector<T> dense(static_cast<size_t>(std::max<int64_t>(m, 0) * std::max<int64_t>(k, 0)));
    a.Unpack(dense.data());
    GemmImpl(ctx, false, trans_b, m, n, k, T(1), dense.data(), k, b, ldb, beta, c, ldc);
    return;
  }
  GemmImpl(ctx, false, trans_b, m, n, k, T(1), static_cast<const T*>(nullptr), int64_t{0}, b, ldb,
           beta, c, ldc, a.data());
}

template <typename T>
void PackedA<T>::Unpack(T* dense) const {
  using B = Blocking<T>;
  for (int64_t ic = 0; ic < m_; ic += B::kMc) {
    const int64_t mc = std::min(B::kMc, m_ - ic);
    for (int64_t pc = 0; pc < k_; pc += B::kKc) {
      const int64_t kc = std::min(B::kKc, k_ - pc);
      const T* block = data_.data() + PackedABlockOffset(ic, mc, pc, k_, B::kMr);
      for (int64_t i = 0; i < mc; ++i) {
        const int64_t ir = i / B::kMr * B::kMr, r = i - ir;
        for (int64_t p = 0; p < kc; ++p) {
          dense[(ic + i) * k_ + pc + p] = block[ir * kc + p * B::kMr + r];
        }
      }
    }
  }
}

// Per p in [0, batch): op(A_p): (m, k)  op(B_p): (k, n)  C_p: (m, n).
template <typename T>
void BatchedGemm(const Context& ctx, int64_t batch, bool trans_a, bool trans_b, int64_t m,
                 int64_t n, int64_t k, const T* a, int64_t stride_a, int64_t lda, const T* b,
                 int64_t stride_b, int64_t ldb, T beta, T* c, int64_t stride_c, int64_t ldc) {
  // Whole products per thread beat splitting each product once there is one per thread: no
  // barriers, no shared packing. A zero C stride would make the products race, so it stays
  // serial (each Gemm still parallelises itself).
  const bool across_batch = !omp_in_parallel() && stride_c != 0 && batch >= ctx.threads &&
                            ctx.threads > 1 &&
                            static_cast<double>(batch) * m * n * k >= kMinParallelMacs;
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (across_batch)
  for (int64_t p = 0; p < batch; ++p) {
    GemmImpl(ctx, trans_a, trans_b, m, n, k, T(1), a + p * stride_a, lda, b + p * stride_b, ldb,
             beta, c + p * stride_c, ldc);
  }
}

#define MT_INSTANTIATE(T)                                                                      \
  template class PackedA<T>;                                                                   \
  template void GemmPackedA<T>(const Context&, const PackedA<T>&, int64_t, bool, const T*,     \
                               int64_t, T, T*, int64_t);                                       \
  template void Gemm<T>(const Context&, bool, bool, int64_t, int64_t, int64_t, T, const T*,    \
                        int64_t, const T*, int64_t, T, T*, int64_t);                           \
  template void BatchedGemm<T>(const Context&, int64_t, bool, bool, int64_t, int64_t, int64_t, \
                               const T*, int64_t, int64_t, const T*, int64_t, int64_t, T, T*,  \
                               int64_t, int64_t);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE

}  // namespace mt::kernels::cpu
