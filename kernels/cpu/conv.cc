#include "kernels/cpu/conv.h"

#include <omp.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <vector>

#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/matmul.h"

namespace mt::kernels::cpu {
namespace {

// Below this many multiply-adds per call, threads cost more than they save.
constexpr double kMinParallelMacs = 262144.0;

// Column matrices (and the batch-level products' buffers) up to this size are kept per thread
// between calls; a larger one (an unusually long sentence at inference) is freed when its call
// is done, so one big request does not pin its memory for the life of the thread.
constexpr size_t kKeptScratchBytes = size_t{16} << 20;

// The im2col matrix of one sample. Small ones are kept per thread and grown on demand so a
// training loop does not allocate a fresh (C*kh*kw, oh*ow) buffer per sample per step. Throws
// std::bad_alloc when the memory is not there; callers inside a parallel region catch it.
// kSlot tells apart buffers one call needs at the same time.
template <typename T, int kSlot = 0>
class ColumnScratch {
 public:
  explicit ColumnScratch(size_t count) {
    if (count * sizeof(T) <= kKeptScratchBytes) {
      thread_local std::vector<T> kept;
      if (kept.size() < count) kept.resize(count);
      data_ = kept.data();
    } else {
      owned_.reset(new T[count]);
      data_ = owned_.get();
    }
  }
  T* data() const { return data_; }

 private:
  std::unique_ptr<T[]> owned_;
  T* data_ = nullptr;
};

// Runs body() and records instead of throwing an allocation failure: an exception must not
// leave an OpenMP region (the process would abort). The caller throws after the region.
template <typename F>
void CatchOutOfMemory(bool* failed, F&& body) {
  try {
    body();
  } catch (const std::bad_alloc&) {
#pragma omp atomic write
    *failed = true;
  }
}

// Splitting over samples is used when there is at least one sample per thread; with fewer
// samples each per-sample Gemm parallelises itself instead.
bool ThreadsOverBatch(const Context& ctx, const Conv2dShape& s) {
  const double macs = static_cast<double>(s.batch) * s.out_channels * s.out_h() * s.out_w() *
                      s.in_channels * s.kernel_h * s.kernel_w;
  const int threads = ctx.threads;
  return !omp_in_parallel() && threads > 1 && s.batch >= threads && macs >= kMinParallelMacs;
}

// Calls f(b, c0, c1) for every sample b, covering its input channels [0, C) in one or more
// disjoint ranges: samples split over the threads when there are enough of them, otherwise
// each sample's channels (Kim CNN convolves one long sequence of a whole batch's sentences,
// whose im2col and col2im would else run on one thread while the other waits).
template <typename F>
void ForEachSampleChannels(const Context& ctx, const Conv2dShape& s, int64_t elements, F&& f) {
  if (ThreadsOverBatch(ctx, s)) {
#pragma omp parallel for schedule(static) num_threads(ctx.threads)
    for (int64_t b = 0; b < s.batch; ++b) f(b, int64_t{0}, s.in_channels);
    return;
  }
  const int threads = ctx.threads;
  const bool split = !omp_in_parallel() && threads > 1 && s.in_channels >= threads &&
                     elements >= (int64_t{1} << 16);
  if (!split) {
    for (int64_t b = 0; b < s.batch; ++b) f(b, int64_t{0}, s.in_channels);
    return;
  }
  for (int64_t b = 0; b < s.batch; ++b) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int t = 0; t < threads; ++t) {
      f(b, s.in_channels * t / threads, s.in_channels * (t + 1) / threads);
    }
  }
}

// out (N, O, ohw) = y (O, N * ohw) with its first two dims swapped, plus the bias.
template <typename T>
void CopyOutWithBias(const Context& ctx, const Conv2dShape& s, const T* y, const T* bias, T* out) {
  const int64_t ohw = s.out_h() * s.out_w(), k = s.batch * ohw;
#pragma omp parallel for collapse(2) schedule(static) num_threads(ctx.threads) if ( \
    !omp_in_parallel() && ctx.threads > 1 && s.out_channels * k >= (1 << 16))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t oc = 0; oc < s.out_channels; ++oc) {
      const T* from = y + oc * k + b * ohw;
      T* to = out + (b * s.out_channels + oc) * ohw;
      const T v = bias != nullptr ? bias[oc] : T(0);
#pragma omp simd
      for (int64_t p = 0; p < ohw; ++p) to[p] = from[p] + v;
    }
  }
}


// Output columns x whose input column x*stride + j - pad_left falls inside [0, in_w): [x0, x1).
inline __attribute__((always_inline)) void ValidColumns(const Conv2dShape& s, int64_t j, int64_t ow,
                                                       int64_t* x0, int64_t* x1) {
  const int64_t lo = s.pad_left - j;               // need x * stride_w >= lo
  const int64_t hi = s.in_w - 1 + s.pad_left - j;  // need x * stride_w <= hi
  int64_t first = lo <= 0 ? 0 : (lo + s.stride_w - 1) / s.stride_w;
  int64_t last = hi < 0 ? 0 : hi / s.stride_w + 1;
  first = std::min(first, ow);
  *x0 = first;
  *x1 = std::max(first, std::min(last, ow));
}

// dst[x] = src[x + shift] for x in [x0, x1), zero elsewhere in [0, n). Plain loops, not
// std::copy / std::fill: rows are a few dozen floats, shorter than a memmove call is worth.
template <typename T>
inline void ShiftedRow(const T* src, int64_t shift, int64_t x0, int64_t x1, int64_t n, T* dst) {
  for (int64_t x = 0; x < x0; ++x) dst[x] = T(0);
  const T* s = src + shift;
#pragma omp simd
  for (int64_t x = x0; x < x1; ++x) dst[x] = s[x];
  for (int64_t x = x1; x < n; ++x) dst[x] = T(0);
}

// dst[0, n) = src[0, n) for n of at least 32 bytes, as 32-byte moves with an overlapping last
// one: a 10-float row of LeNet-5's conv2 is two moves instead of a vector loop's prologue,
// body and scalar tail (im2col was a quarter of LeNet-5 inference).
template <typename T>
inline void CopyRowInChunks(const T* src, int64_t n, T* dst) {
  constexpr int64_t kChunk = 32 / sizeof(T);
  int64_t x = 0;
  for (; x + kChunk <= n; x += kChunk) std::memcpy(dst + x, src + x, 32);
  if (x < n) std::memcpy(dst + n - kChunk, src + n - kChunk, 32);
}

// Unpadded, stride 1, output rows of 32 to 64 bytes (LeNet-5's conv2: 10 floats): every tap
// reads whole rows, and the general loops' per-row bookkeeping cost more than the copying
// (im2col and col2im were 17 % of a one-thread LeNet-5 step).
template <typename T>
bool UnpaddedNarrowRows(const Conv2dShape& s) {
  const int64_t row_bytes = s.out_w() * static_cast<int64_t>(sizeof(T));
  return s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_bottom == 0 &&
         s.pad_left == 0 && s.pad_right == 0 && row_bytes >= 32 && row_bytes <= 64;
}

// input: (C, H, W) of one sample  cols: (C*kh*kw, oh*ow) with row stride ld (oh*ow, or the
// whole batch's batch*oh*ow when the columns are kept), row (c*kh + i)*kw + j holding the
// input pixel under kernel tap (i, j) for every output position, zero where it is padding.
template <typename T>
void Im2Col(const Conv2dShape& s, const T* input, T* cols, int64_t ld, int64_t c0 = 0,
            int64_t c1 = -1) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  if (c1 < 0) c1 = s.in_channels;
  if (UnpaddedNarrowRows<T>(s)) {
    // Each input row once, copied to its kernel_w shifted places.
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t i = 0; i < s.kernel_h; ++i) {
        T* rows = cols + (c * s.kernel_h + i) * s.kernel_w * ld;
        for (int64_t y = 0; y < oh; ++y) {
          const T* src = input + (c * s.in_h + y + i) * s.in_w;
          for (int64_t j = 0; j < s.kernel_w; ++j) CopyRowInChunks(src + j, ow, rows + j * ld + y * ow);
        }
      }
    }
    return;
  }
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t i = 0; i < s.kernel_h; ++i) {
      for (int64_t j = 0; j < s.kernel_w; ++j) {
        T* row = cols + ((c * s.kernel_h + i) * s.kernel_w + j) * ld;
        int64_t x0, x1;
        ValidColumns(s, j, ow, &x0, &x1);
        const int64_t shift = j - s.pad_left;
        for (int64_t y = 0; y < oh; ++y) {
          T* dst = row + y * ow;
          const int64_t iy = y * s.stride_h + i - s.pad_top;
          if (iy < 0 || iy >= s.in_h) {
            for (int64_t x = 0; x < ow; ++x) dst[x] = T(0);
            continue;
          }
          const T* src = input + (c * s.in_h + iy) * s.in_w;
          if (s.stride_w == 1 && x0 == 0 && x1 == ow && ow * int64_t{sizeof(T)} >= 32) {
            CopyRowInChunks(src + shift, ow, dst);  // no padding in this row
          } else if (s.stride_w == 1) {
            ShiftedRow(src, shift, x0, x1, ow, dst);
          } else {
            for (int64_t x = 0; x < x0; ++x) dst[x] = T(0);
            for (int64_t x = x0; x < x1; ++x) dst[x] = src[x * s.stride_w + shift];
            for (int64_t x = x1; x < ow; ++x) dst[x] = T(0);
          }
        }
      }
    }
  }
}

// Output columns [xa, xb) of a one-row output (oh == 1) as a (C*kh*kw, xb - xa) column matrix
// with row stride ld: the same values as Im2Col's columns xa .. xb-1.
template <typename T>
void Im2ColPiece(const Conv2dShape& s, const T* input, int64_t xa, int64_t xb, T* cols, int64_t ld) {
  const int64_t ow = s.out_w(), n = xb - xa;
  for (int64_t c = 0; c < s.in_channels; ++c) {
    for (int64_t i = 0; i < s.kernel_h; ++i) {
      const int64_t iy = i - s.pad_top;
      for (int64_t j = 0; j < s.kernel_w; ++j) {
        T* dst = cols + ((c * s.kernel_h + i) * s.kernel_w + j) * ld;
        if (iy < 0 || iy >= s.in_h) {
          std::fill(dst, dst + n, T(0));
          continue;
        }
        int64_t x0, x1;
        ValidColumns(s, j, ow, &x0, &x1);
        x0 = std::clamp(x0, xa, xb);
        x1 = std::clamp(x1, x0, xb);
        const T* src = input + (c * s.in_h + iy) * s.in_w + j - s.pad_left;
        for (int64_t x = xa; x < x0; ++x) dst[x - xa] = T(0);
        if (s.stride_w == 1) {
          std::memcpy(dst + (x0 - xa), src + x0, static_cast<size_t>(x1 - x0) * sizeof(T));
        } else {
          for (int64_t x = x0; x < x1; ++x) dst[x - xa] = src[x * s.stride_w];
        }
        for (int64_t x = x1; x < xb; ++x) dst[x - xa] = T(0);
      }
    }
  }
}

// The column matrix (C*kh*kw, oh*ow) of one sample (C, H, W): the sample itself for a pointwise
// conv, its slice of the kept batch columns (`keep`, rows batch*oh*ow apart; filled here), or
// its Im2Col in ColumnScratch. Read through data() with row stride ld().
template <typename T>
class SampleColumns {
 public:
  SampleColumns(const Conv2dShape& s, const T* sample, T* keep = nullptr)
      : data_(sample), ld_(s.out_h() * s.out_w()) {
    if (s.pointwise()) return;
    if (keep != nullptr) {
      ld_ = s.batch * s.out_h() * s.out_w();
      Im2Col(s, sample, keep, ld_);
      data_ = keep;
      return;
    }
    scratch_.emplace(
        static_cast<size_t>(s.in_channels * s.kernel_h * s.kernel_w * s.out_h() * s.out_w()));
    Im2Col(s, sample, scratch_->data(), ld_);
    data_ = scratch_->data();
  }
  const T* data() const { return data_; }
  int64_t ld() const { return ld_; }

 private:
  std::optional<ColumnScratch<T>> scratch_;
  const T* data_;
  int64_t ld_;
};

#if defined(__AVX2__)
// Col2Im's whole-row case on float rows of at most 32 input pixels and at most 16 taps: each
// input row stays in NV 8-lane registers while its kernel_w shifted contributions are added,
// in tap order, and is stored once. The loop in Col2Im adds the taps one after another in
// memory instead, reloading the row right after storing it one pixel further on, and stalls on
// store-to-load forwarding (kernels/cpu:conv_bench, LeNet-5 conv2 at batch 64 on one thread:
// the input gradient took 1071 us before, 649 us with this and the grouping in
// Conv2dBackwardInput, on the 2-core AMD VM of 2026-12-07; 569 us on the Intel VM with the
// AVX-512 GEMM). The sums are the same, in the same order; a lane outside a tap's row
// adds +0.0, so an input gradient of -0.0 can come out +0.0.
template <int NV>
void Col2ImRowsAvx2(const Conv2dShape& s, const float* cols, int64_t ld, float* grad_input,
                    int64_t c0, int64_t c1) {
  const int oh = static_cast<int>(s.out_h()), ow = static_cast<int>(s.out_w());
  const int kw = static_cast<int>(s.kernel_w), width = static_cast<int>(s.in_w);
  __m256i row_mask[NV], tap_mask[16][NV];  // lanes inside the input row / inside tap j's row
  for (int v = 0; v < NV; ++v) {
    const __m256i x =
        _mm256_add_epi32(_mm256_set1_epi32(8 * v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    row_mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(width), x);
    for (int j = 0; j < kw; ++j) {  // tap j covers input pixels j .. j + ow - 1
      tap_mask[j][v] = _mm256_and_si256(_mm256_cmpgt_epi32(x, _mm256_set1_epi32(j - 1)),
                                        _mm256_cmpgt_epi32(_mm256_set1_epi32(j + ow), x));
    }
  }
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t i = 0; i < s.kernel_h; ++i) {
      const float* rows = cols + (c * s.kernel_h + i) * kw * ld;
      for (int64_t y = 0; y < oh; ++y) {
        float* dst = grad_input + (c * s.in_h + y + i) * width;
        __m256 acc[NV];
        for (int v = 0; v < NV; ++v) acc[v] = _mm256_maskload_ps(dst + 8 * v, row_mask[v]);
        for (int j = 0; j < kw; ++j) {
          // Lane x reads tap j's value for input pixel x, output position x - j (rows + j * ld
          // + y * ow is at least j elements into the columns, so this stays inside them).
          const float* src = rows + j * ld + y * ow - j;
          for (int v = 0; v < NV; ++v) {
            acc[v] = _mm256_add_ps(acc[v], _mm256_maskload_ps(src + 8 * v, tap_mask[j][v]));
          }
        }
        for (int v = 0; v < NV; ++v) _mm256_maskstore_ps(dst + 8 * v, row_mask[v], acc[v]);
      }
    }
  }
}
#endif

// The adjoint of Im2Col: cols: (C*kh*kw, oh*ow) with row stride ld  grad_input: (C, H, W),
// accumulated into.
template <typename T>
void Col2Im(const Conv2dShape& s, const T* cols, int64_t ld, T* grad_input, int64_t c0 = 0,
            int64_t c1 = -1) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  if (c1 < 0) c1 = s.in_channels;
  if (UnpaddedNarrowRows<T>(s)) {
#if defined(__AVX2__)
    if constexpr (std::is_same_v<T, float>) {
      if (s.kernel_w <= 16 && s.in_w <= 32) {
        switch ((s.in_w + 7) / 8) {
          case 1: return Col2ImRowsAvx2<1>(s, cols, ld, grad_input, c0, c1);
          case 2: return Col2ImRowsAvx2<2>(s, cols, ld, grad_input, c0, c1);
          case 3: return Col2ImRowsAvx2<3>(s, cols, ld, grad_input, c0, c1);
          default: return Col2ImRowsAvx2<4>(s, cols, ld, grad_input, c0, c1);
        }
      }
    }
#endif
    // Each input row once, its kernel_w shifted contributions added in Im2Col's order of taps
    // (i, then j), so every pixel sums in the same order as the general loop below.
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t i = 0; i < s.kernel_h; ++i) {
        const T* rows = cols + (c * s.kernel_h + i) * s.kernel_w * ld;
        for (int64_t y = 0; y < oh; ++y) {
          T* dst = grad_input + (c * s.in_h + y + i) * s.in_w;
          for (int64_t j = 0; j < s.kernel_w; ++j) {
            const T* src = rows + j * ld + y * ow;
            T* d = dst + j;
#pragma omp simd
            for (int64_t x = 0; x < ow; ++x) d[x] += src[x];
          }
        }
      }
    }
    return;
  }
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t i = 0; i < s.kernel_h; ++i) {
      for (int64_t j = 0; j < s.kernel_w; ++j) {
        const T* row = cols + ((c * s.kernel_h + i) * s.kernel_w + j) * ld;
        int64_t x0, x1;
        ValidColumns(s, j, ow, &x0, &x1);
        for (int64_t y = 0; y < oh; ++y) {
          const int64_t iy = y * s.stride_h + i - s.pad_top;
          if (iy < 0 || iy >= s.in_h) continue;
          const T* src = row + y * ow;
          T* dst = grad_input + (c * s.in_h + iy) * s.in_w;
          const int64_t shift = j - s.pad_left;
          if (s.stride_w == 1) {
            T* d = dst + shift;
#pragma omp simd
            for (int64_t x = x0; x < x1; ++x) d[x] += src[x];
          } else {
            for (int64_t x = x0; x < x1; ++x) dst[x * s.stride_w + shift] += src[x];
          }
        }
      }
    }
  }
}


// Batch-level products: the whole batch's columns side by side, (ckk, batch * ohw), so one Gemm
// covers every sample and has batch * ohw columns instead of a sentence's ~20 (Kim CNN) or an
// image's 100 (LeNet-5's conv2), whose ragged last micro-tiles and per-call packing wasted a
// third of the work. The scratch they need beyond the kept columns is bounded by this.
constexpr int64_t kMaxBatchScratchBytes = int64_t{64} << 20;

// Without kept columns the forward pass takes the batch product only while the whole batch's
// columns stay in cache: inference at batch 256 (15 MB of columns for LeNet-5's conv2) streams
// them from memory and runs 20% slower than per sample, where each sample's stay in L2.
constexpr int64_t kMaxScratchColumnsBytes = int64_t{2} << 20;
// The columns of a group of samples a thread multiplies at once (forward, no kept columns):
// about half of a core's L2.
constexpr int64_t kGroupColumnsBytes = int64_t{512} << 10;

template <typename T>
bool UseBatchProducts(const Conv2dShape& s, bool have_columns, bool forward) {
  if (s.pointwise()) return false;
  const int64_t ohw = s.out_h() * s.out_w();
  const int64_t column_bytes = s.columns_size() * static_cast<int64_t>(sizeof(T));
  if (forward && !have_columns && column_bytes > kMaxScratchColumnsBytes) return false;
  const int64_t extra = (have_columns ? 0 : s.columns_size()) + s.batch * s.out_channels * ohw;
  return extra * static_cast<int64_t>(sizeof(T)) <= kMaxBatchScratchBytes;
}

// dst (O, batch * ohw) = src (batch, O, ohw) with its first two dims swapped.
template <typename T>
void SwapBatchAndChannels(const Context& ctx, const Conv2dShape& s, const T* src, T* dst) {
  const int64_t ohw = s.out_h() * s.out_w(), k = s.batch * ohw;
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if ( \
    !omp_in_parallel() && ctx.threads > 1 && s.out_channels * k >= (1 << 17))
  for (int64_t oc = 0; oc < s.out_channels; ++oc) {
    for (int64_t b = 0; b < s.batch; ++b) {
      const T* from = src + (b * s.out_channels + oc) * ohw;
      std::copy(from, from + ohw, dst + oc * k + b * ohw);
    }
  }
}

}  // namespace

// input: (N, C, H, W)  weight: (O, C, kh, kw)  bias: (O) or null  out: (N, O, oh, ow)
template <typename T>
int64_t Conv2dKeptColumnsSize(const Conv2dShape& s) {
  if constexpr (std::is_same_v<T, float>) {
    if (DirectConvApplies(s)) return 0;  // the direct kernels read the input in both passes
  }
  return s.columns_size();
}

template <typename T>
void Conv2dForward(const Context& ctx, const Conv2dShape& s, const T* input, const T* weight,
                   const T* bias, T* out, T* columns) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  if (s.batch <= 0 || s.out_channels <= 0 || oh <= 0 || ow <= 0) return;
  const int64_t ohw = oh * ow;
  const int64_t ckk = s.in_channels * s.kernel_h * s.kernel_w;
  const int64_t in_size = s.in_channels * s.in_h * s.in_w;
  bool out_of_memory = false;
  if constexpr (std::is_same_v<T, float>) {
    // Few input channels, stride 1: no im2col at all (conv_direct.h). `columns` stays unfilled;
    // the weight gradient takes the direct path too.
    if (DirectConvApplies(s)) {
      const std::vector<float> tap_major = DirectConvTapMajorWeights(s, weight);
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (ThreadsOverBatch(ctx, s))
      for (int64_t b = 0; b < s.batch; ++b) {
        CatchOutOfMemory(&out_of_memory, [&] {
          DirectConvForwardSample(s, input + b * in_size, tap_major.data(), bias,
                                  out + b * s.out_channels * ohw);
        });
      }
      if (out_of_memory) throw std::bad_alloc();
      return;
    }
  }
  if (UseBatchProducts<T>(s, columns != nullptr, /*forward=*/true)) {
    // Columns of every sample (kept for the weight gradient, or scratch), one product, then
    // each sample's (O, ohw) block copied out with its bias.
    const int64_t k = s.batch * ohw;
    ColumnScratch<T, 1> scratch_cols(columns != nullptr ? 0 : static_cast<size_t>(ckk * k));
    T* cols = columns != nullptr ? columns : scratch_cols.data();
    ForEachSampleChannels(ctx, s, ckk * k, [&](int64_t b, int64_t c0, int64_t c1) {
      Im2Col(s, input + b * in_size, cols + b * ohw, k, c0, c1);
    });
    ColumnScratch<T, 2> y(static_cast<size_t>(s.out_channels * k));
    Gemm<T>(ctx, false, false, s.out_channels, k, ckk, T(1), weight, ckk, cols, k, T(0), y.data(),
            k);
    CopyOutWithBias(ctx, s, y.data(), bias, out);
    return;
  }
  // The weights are packed once for every product below.
  const PackedA<T> packed_w(false, s.out_channels, ckk, T(1), weight, ckk);
  if (!s.pointwise() && columns == nullptr && oh == 1 && s.batch < ctx.threads &&
      !omp_in_parallel() && ow >= 2 * ctx.threads * 16) {
    // Fewer samples than threads, each one long row (Kim CNN's batch of sentences end to end):
    // every thread takes pieces of the row's outputs, each piece's columns (about
    // kGroupColumnsBytes) built and multiplied in its cache. Same sums, same order: same bits.
    const int64_t piece_cols = std::max<int64_t>(
        16, kGroupColumnsBytes / static_cast<int64_t>(sizeof(T)) / std::max<int64_t>(ckk, 1) / 16 * 16);
    int64_t pieces = (ow + piece_cols - 1) / piece_cols;
    pieces = (pieces + ctx.threads - 1) / ctx.threads * ctx.threads;  // even per thread
    const int64_t width = (ow + pieces - 1) / pieces;
    pieces = (ow + width - 1) / width;
    for (int64_t b = 0; b < s.batch; ++b) {
#pragma omp parallel for schedule(static) num_threads(ctx.threads)
      for (int64_t pi = 0; pi < pieces; ++pi) {
        CatchOutOfMemory(&out_of_memory, [&] {
          const int64_t xa = pi * width, xb = std::min(ow, xa + width), n = xb - xa;
          ColumnScratch<T, 3> cols(static_cast<size_t>(ckk * n));
          ColumnScratch<T, 4> y(static_cast<size_t>(s.out_channels * n));
          Im2ColPiece(s, input + b * in_size, xa, xb, cols.data(), n);
          GemmPackedA<T>(ctx, packed_w, n, false, cols.data(), n, T(0), y.data(), n);
          for (int64_t oc = 0; oc < s.out_channels; ++oc) {
            const T* from = y.data() + oc * n;
            T* to = out + (b * s.out_channels + oc) * ohw + xa;
            const T v = bias != nullptr ? bias[oc] : T(0);
#pragma omp simd
            for (int64_t p = 0; p < n; ++p) to[p] = from[p] + v;
          }
        });
      }
    }
    if (out_of_memory) throw std::bad_alloc();
    return;
  }
  if (!s.pointwise() && columns == nullptr) {
    // Groups of samples per thread: each group's columns side by side in the thread's cache
    // (up to kGroupColumnsBytes), one product with group * ohw columns -- a Kim CNN sentence's
    // ~20 alone fill two of a micro-tile's 16 columns by two thirds -- then copied out with the
    // bias. Every output element sums over ckk in the same order as per sample: same bits.
    const int64_t per_sample = ckk * ohw * static_cast<int64_t>(sizeof(T));
    const int threads = ThreadsOverBatch(ctx, s) ? ctx.threads : 1;
    const int64_t largest = std::max<int64_t>(1, kGroupColumnsBytes / std::max<int64_t>(per_sample, 1));
    // As many groups as fit that size, rounded up to a multiple of the threads, evenly filled.
    int64_t groups = (s.batch + largest - 1) / largest;
    groups = std::min(s.batch, (groups + threads - 1) / threads * threads);
    const int64_t group = (s.batch + groups - 1) / groups;
    groups = (s.batch + group - 1) / group;
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (ThreadsOverBatch(ctx, s))
    for (int64_t gi = 0; gi < groups; ++gi) {
      CatchOutOfMemory(&out_of_memory, [&] {
        const int64_t b0 = gi * group, nb = std::min(group, s.batch - b0), k = nb * ohw;
        ColumnScratch<T, 3> cols(static_cast<size_t>(ckk * k));
        ColumnScratch<T, 4> y(static_cast<size_t>(s.out_channels * k));
        for (int64_t j = 0; j < nb; ++j) Im2Col(s, input + (b0 + j) * in_size, cols.data() + j * ohw, k);
        GemmPackedA<T>(ctx, packed_w, k, false, cols.data(), k, T(0), y.data(), k);
        for (int64_t j = 0; j < nb; ++j) {
          for (int64_t oc = 0; oc < s.out_channels; ++oc) {
            const T* from = y.data() + oc * k + j * ohw;
            T* to = out + ((b0 + j) * s.out_channels + oc) * ohw;
            const T v = bias != nullptr ? bias[oc] : T(0);
#pragma omp simd
            for (int64_t p = 0; p < ohw; ++p) to[p] = from[p] + v;
          }
        }
      });
    }
    if (out_of_memory) throw std::bad_alloc();
    return;
  }
  // Per sample: a pointwise conv (its input is its column matrix), or kept columns too big for
  // the batch product.
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (ThreadsOverBatch(ctx, s))
  for (int64_t b = 0; b < s.batch; ++b) {
    CatchOutOfMemory(&out_of_memory, [&] {
      // Kept columns interleave the batch: (ckk, batch * ohw), this sample's at column b * ohw.
      T* kept = columns != nullptr && !s.pointwise() ? columns + b * ohw : nullptr;
      const SampleColumns<T> cols(s, input + b * in_size, kept);
      T* o = out + b * s.out_channels * ohw;
      // (O, ohw) = W (O, ckk) * cols (ckk, ohw)
      GemmPackedA<T>(ctx, packed_w, ohw, false, cols.data(), cols.ld(), T(0), o, ohw);
      if (bias != nullptr) {
        for (int64_t oc = 0; oc < s.out_channels; ++oc) {
          T* row = o + oc * ohw;
          const T v = bias[oc];
#pragma omp simd
          for (int64_t p = 0; p < ohw; ++p) row[p] += v;
        }
      }
    });
  }
  if (out_of_memory) throw std::bad_alloc();
}

// grad_out: (N, O, oh, ow)  weight: (O, C, kh, kw)  grad_input: (N, C, H, W)
template <typename T>
void Conv2dBackwardInput(const Context& ctx, const Conv2dShape& s, const T* grad_out,
                         const T* weight, T* grad_input) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  const int64_t in_size = s.in_channels * s.in_h * s.in_w;
  if (s.batch <= 0) return;
  if (s.out_channels <= 0 || oh <= 0 || ow <= 0) {
    std::fill(grad_input, grad_input + s.batch * in_size, T(0));
    return;
  }
  const int64_t ohw = oh * ow;
  const int64_t ckk = s.in_channels * s.kernel_h * s.kernel_w;
  const bool pointwise = s.pointwise();
  bool out_of_memory = false;
  if constexpr (std::is_same_v<T, float>) {
    // Few input channels, stride 1 (LeNet-5's conv2): a direct conv of the padded grad_out
    // (conv_direct.h), no columns to write and scatter back. conv_bench lenet5, conv2 b64
    // grad_in on one thread of the AMD VM (2026-12-07, 16:55 UTC): 2631 -> 1560 us; minitorch,
    // conv2 b16: 651 -> 372 us.
    if (DirectConvBackwardInputApplies(s)) {
      const std::vector<float> flipped = DirectConvBackwardInputWeights(s, weight);
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (ThreadsOverBatch(ctx, s))
      for (int64_t b = 0; b < s.batch; ++b) {
        CatchOutOfMemory(&out_of_memory, [&] {
          DirectConvBackwardInputSample(s, grad_out + b * s.out_channels * ohw, flipped.data(),
                                        grad_input + b * in_size);
        });
      }
      if (out_of_memory) throw std::bad_alloc();
      return;
    }
  }
  if (UseBatchProducts<T>(s, /*have_columns=*/false, /*forward=*/false)) {
    // cols (ckk, n * ohw) = W^T (ckk, O) * G (O, n * ohw) for groups of n samples, each group's
    // columns scattered back onto its pixels before the next group's are made. On one thread
    // (a training step split over the cores runs each piece so) a group's columns fit in about
    // half of L2: LeNet-5's conv2 at batch 32 has 1.9 MB of them, which the product wrote to
    // and col2im read back from L3 (the grouping took conv_bench's one-thread LeNet-5 conv2
    // input gradient from 680-700 to 649 us on the AMD VM). On several threads one group is
    // the whole batch, so the product and the scatter each split over the threads. The value
    // of every column is one dot product over O whatever the grouping (the same bits,
    // conv_test checks).
    const int64_t k = s.batch * ohw;
    const int64_t sample_bytes = ckk * ohw * static_cast<int64_t>(sizeof(T));
    const int64_t group =
        ctx.threads > 1 ? s.batch
                        : std::clamp<int64_t>(kGroupColumnsBytes / std::max<int64_t>(sample_bytes, 1),
                                              1, s.batch);
    ColumnScratch<T, 1> cols(static_cast<size_t>(ckk * group * ohw));
    ColumnScratch<T, 2> g(static_cast<size_t>(s.out_channels * k));
    SwapBatchAndChannels(ctx, s, grad_out, g.data());
    const int64_t plane = s.in_h * s.in_w;
    for (int64_t b0 = 0; b0 < s.batch; b0 += group) {
      Conv2dShape gs = s;
      gs.batch = std::min(group, s.batch - b0);
      const int64_t kn = gs.batch * ohw;
      Gemm<T>(ctx, true, false, ckk, kn, s.out_channels, T(1), weight, ckk, g.data() + b0 * ohw,
              k, T(0), cols.data(), kn);
      ForEachSampleChannels(ctx, gs, ckk * kn, [&](int64_t b, int64_t c0, int64_t c1) {
        T* gi = grad_input + (b0 + b) * in_size;
        std::fill(gi + c0 * plane, gi + c1 * plane, T(0));
        Col2Im(s, cols.data() + b * ohw, kn, gi, c0, c1);
      });
    }
    return;
  }
  const PackedA<T> packed_wt(true, ckk, s.out_channels, T(1), weight, ckk);  // W^T, once
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (ThreadsOverBatch(ctx, s))
  for (int64_t b = 0; b < s.batch; ++b) {
    CatchOutOfMemory(&out_of_memory, [&] {
      const T* g = grad_out + b * s.out_channels * ohw;
      T* gi = grad_input + b * in_size;
      // cols (ckk, ohw) = W^T (ckk, O) * grad_out (O, ohw), then scattered back onto the pixels.
      if (pointwise) {
        GemmPackedA<T>(ctx, packed_wt, ohw, false, g, ohw, T(0), gi, ohw);
        return;
      }
      ColumnScratch<T> scratch(ckk * ohw);
      T* cols = scratch.data();
      GemmPackedA<T>(ctx, packed_wt, ohw, false, g, ohw, T(0), cols, ohw);
      std::fill(gi, gi + in_size, T(0));
      Col2Im(s, cols, ohw, gi);
    });
  }
  if (out_of_memory) throw std::bad_alloc();
}

// grad_out: (N, O, oh, ow)  input: (N, C, H, W)  grad_weight: (O, C, kh, kw)  grad_bias: (O)
template <typename T>
void Conv2dBackwardWeight(const Context& ctx, const Conv2dShape& s, const T* grad_out,
                          const T* input, T* grad_weight, T* grad_bias, const T* columns) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  const int64_t ohw = std::max<int64_t>(oh, 0) * std::max<int64_t>(ow, 0);
  const int64_t ckk = s.in_channels * s.kernel_h * s.kernel_w;
  const int64_t in_size = s.in_channels * s.in_h * s.in_w;
  const int64_t w_size = s.out_channels * ckk;
  if (grad_bias != nullptr) {
    // Summed in double, in a fixed order, so the bias gradient is accurate and reproducible.
#pragma omp parallel for schedule(static) num_threads( \
    ctx.threads) if (!omp_in_parallel() && s.batch * s.out_channels * ohw >= (1 << 16))
    for (int64_t oc = 0; oc < s.out_channels; ++oc) {
      double acc = 0;
      for (int64_t b = 0; b < s.batch; ++b) {
        const T* g = grad_out + (b * s.out_channels + oc) * ohw;
#pragma omp simd reduction(+ : acc)
        for (int64_t p = 0; p < ohw; ++p) acc += g[p];
      }
      grad_bias[oc] = static_cast<T>(acc);
    }
  }
  if (w_size <= 0) return;
  if (s.batch <= 0 || ohw == 0) {
    std::fill(grad_weight, grad_weight + w_size, T(0));
    return;
  }
  bool direct = false;
  if constexpr (std::is_same_v<T, float>) direct = DirectConvApplies(s);
  if (columns != nullptr && !direct && !s.pointwise()) {
    // One product over the whole batch: grad_weight (O, ckk) = G (O, batch * ohw) * columns^T,
    // the kept columns being (ckk, batch * ohw). A per-sample product has only ohw (a Kim CNN
    // sentence: ~20) to sum over and spends its time loading and storing C; this one sums over
    // batch * ohw. G is grad_out (batch, O, ohw) with its first two dims swapped.
    const int64_t k = s.batch * ohw;
    ColumnScratch<T, 2> g(static_cast<size_t>(s.out_channels * k));
    SwapBatchAndChannels(ctx, s, grad_out, g.data());
    Gemm<T>(ctx, false, true, s.out_channels, ckk, k, T(1), g.data(), k, columns, k, T(0),
            grad_weight, ckk);
    return;
  }
  // Adds grad_out_b (O, ohw) * cols_b^T (ohw, ckk) into acc (O, ckk), or overwrites it if first.
  auto accumulate_sample = [&](int64_t b, bool first, T* acc) {
    if constexpr (std::is_same_v<T, float>) {
      if (direct) {
        DirectConvWeightGradSample(s, grad_out + b * s.out_channels * ohw, input + b * in_size,
                                   first, acc);
        return;
      }
    }
    const SampleColumns<T> cols(s, input + b * in_size);
    Gemm<T>(ctx, false, true, s.out_channels, ckk, ohw, T(1), grad_out + b * s.out_channels * ohw,
            ohw, cols.data(), cols.ld(), first ? T(0) : T(1), acc, ckk);
  };
  // Part u sums a fixed contiguous range of samples into its own buffer (part 0 straight into
  // grad_weight); the parts are then added in order. How many parts is ctx.splits (the
  // caller's thread setting), not how many threads run them: the same setting gives the same
  // bits, whether or not the engine lowered the threads for a busy machine.
  const int parts = ctx.splits > 0 ? ctx.splits : ctx.threads;
  const double macs = static_cast<double>(s.batch) * s.out_channels * ohw * ckk;
  if (omp_in_parallel() || parts <= 1 || s.batch < parts || macs < kMinParallelMacs) {
    for (int64_t b = 0; b < s.batch; ++b) accumulate_sample(b, b == 0, grad_weight);
    return;
  }
  std::vector<T> partial(static_cast<size_t>(parts - 1) * w_size);
  bool out_of_memory = false;
#pragma omp parallel num_threads(std::min(ctx.threads, parts))
  {
#pragma omp for schedule(static)
    for (int u = 0; u < parts; ++u) {
      T* acc = u == 0 ? grad_weight : partial.data() + static_cast<size_t>(u - 1) * w_size;
      const int64_t b0 = s.batch * u / parts, b1 = s.batch * (u + 1) / parts;
      if (b0 == b1) std::fill(acc, acc + w_size, T(0));
      CatchOutOfMemory(&out_of_memory, [&] {
        for (int64_t b = b0; b < b1; ++b) accumulate_sample(b, b == b0, acc);
      });
    }
    // (Implicit barrier: every part is summed before they are added.)
#pragma omp for schedule(static)
    for (int64_t i = 0; i < w_size; ++i) {
      T sum = grad_weight[i];
      for (int u = 1; u < parts; ++u) sum += partial[static_cast<size_t>(u - 1) * w_size + i];
      grad_weight[i] = sum;
    }
  }
  if (out_of_memory) throw std::bad_alloc();
}

#define MT_INSTANTIATE(T)                                                                          \
  template int64_t Conv2dKeptColumnsSize<T>(const Conv2dShape&);                                   \
  template void Conv2dForward<T>(const Context&, const Conv2dShape&, const T*, const T*, const T*, \
                                 T*, T*);                                                          \
  template void Conv2dBackwardInput<T>(const Context&, const Conv2dShape&, const T*, const T*,     \
                                       T*);                                                        \
  template void Conv2dBackwardWeight<T>(const Context&, const Conv2dShape&, const T*, const T*,    \
                                        T*, T*, const T*);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE

}  // namespace mt::kernels::cpu
