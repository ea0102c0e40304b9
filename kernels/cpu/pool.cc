#include "kernels/cpu/pool.h"

#include <omp.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <algorithm>

namespace mt::kernels::cpu {
namespace {

// Below this many input elements per call a parallel region costs more than it saves.
constexpr int64_t kMinParallelElements = int64_t{1} << 15;

bool UseThreads(const Context& ctx, const Pool2dShape& s) {
  return ctx.threads > 1 && !omp_in_parallel() && s.planes > 1 &&
         s.planes * s.in_h * s.in_w >= kMinParallelElements;
}

// MaxDim's order: a larger value, or the first NaN, replaces the running maximum.
template <typename T>
bool Beats(T v, T best) {
  return v > best || (v != v && best == best);
}

// One plane, any window.
template <typename T>
void MaxPlane(const Pool2dShape& s, const T* in, T* out, int64_t* argmax) {
  const int64_t kh = s.kernel_h, kw = s.kernel_w;
  const int64_t oh = s.out_h(), ow = s.out_w(), w = s.in_w;
  for (int64_t y = 0; y < oh; ++y) {
    const T* rows = in + y * kh * w;
    for (int64_t x = 0; x < ow; ++x) {
      const T* win = rows + x * kw;
      T best = win[0];
      int64_t arg = 0;
      for (int64_t i = 0; i < kh; ++i) {
        for (int64_t j = 0; j < kw; ++j) {
          const T v = win[i * w + j];
          const bool better = Beats(v, best);
          best = better ? v : best;
          arg = better ? i * kw + j : arg;
        }
      }
      out[y * ow + x] = best;
      if (argmax != nullptr) argmax[y * ow + x] = arg;
    }
  }
}

// The 2x2 window of LeNet-5, branch-free across a row of outputs so it vectorises (on random
// data the general loop's comparisons mispredict half the time).
template <typename T>
void MaxPlane2x2(const Pool2dShape& s, const T* in, T* out, int64_t* argmax) {
  const int64_t oh = s.out_h(), ow = s.out_w(), w = s.in_w;
  for (int64_t y = 0; y < oh; ++y) {
    const T* r0 = in + 2 * y * w;
    const T* r1 = r0 + w;
    T* o = out + y * ow;
    int64_t* a = argmax != nullptr ? argmax + y * ow : nullptr;
#pragma omp simd
    for (int64_t x = 0; x < ow; ++x) {
      const T v0 = r0[2 * x], v1 = r0[2 * x + 1], v2 = r1[2 * x], v3 = r1[2 * x + 1];
      T best = v0;
      int64_t arg = 0;
      bool b = Beats(v1, best);
      best = b ? v1 : best;
      arg = b ? 1 : arg;
      b = Beats(v2, best);
      best = b ? v2 : best;
      arg = b ? 2 : arg;
      b = Beats(v3, best);
      best = b ? v3 : best;
      arg = b ? 3 : arg;
      o[x] = best;
      if (a != nullptr) a[x] = arg;
    }
  }
}

#if defined(__AVX2__)
// Eight 2x2 windows of float at once: even and odd columns of both rows split by shuffles, the
// same comparisons as Beats in the same tap order (so the same maxima, arguments and NaN rule),
// then the arguments widened to int64. Rows of 8 or more outputs; the last block overlaps the
// one before it (recomputing equal values) instead of a scalar tail.
__attribute__((always_inline)) inline __m256 BeatsMask(__m256 v, __m256 best) {
  const __m256 greater = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
  const __m256 nan_over_number =
      _mm256_and_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), _mm256_cmp_ps(best, best, _CMP_ORD_Q));
  return _mm256_or_ps(greater, nan_over_number);
}

__attribute__((always_inline)) inline void Even8Odd8(const float* p, __m256* even, __m256* odd) {
  const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
  // Per 128-bit lane: a0 a2 b0 b2 | a4 a6 b4 b6, then lanes' 64-bit halves reordered.
  *even = _mm256_castpd_ps(_mm256_permute4x64_pd(
      _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0)));
  *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(
      _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))), _MM_SHUFFLE(3, 1, 2, 0)));
}

void MaxPlane2x2(const Pool2dShape& s, const float* in, float* out, int64_t* argmax) {
  const int64_t oh = s.out_h(), ow = s.out_w(), w = s.in_w;
  if (ow < 8) {
    MaxPlane2x2<float>(s, in, out, argmax);  // the portable branch-free loop
    return;
  }
  for (int64_t y = 0; y < oh; ++y) {
    const float* r0 = in + 2 * y * w;
    const float* r1 = r0 + w;
    for (int64_t x0 = 0; x0 < ow; x0 += 8) {
      const int64_t x = std::min(x0, ow - 8);
      __m256 v0, v1, v2, v3;
      Even8Odd8(r0 + 2 * x, &v0, &v1);
      Even8Odd8(r1 + 2 * x, &v2, &v3);
      __m256 best = v0;
      __m256 arg = _mm256_setzero_ps();  // int32 taps, kept in float registers for blendv
      __m256 b = BeatsMask(v1, best);
      best = _mm256_blendv_ps(best, v1, b);
      arg = _mm256_blendv_ps(arg, _mm256_castsi256_ps(_mm256_set1_epi32(1)), b);
      b = BeatsMask(v2, best);
      best = _mm256_blendv_ps(best, v2, b);
      arg = _mm256_blendv_ps(arg, _mm256_castsi256_ps(_mm256_set1_epi32(2)), b);
      b = BeatsMask(v3, best);
      best = _mm256_blendv_ps(best, v3, b);
      arg = _mm256_blendv_ps(arg, _mm256_castsi256_ps(_mm256_set1_epi32(3)), b);
      _mm256_storeu_ps(out + y * ow + x, best);
      if (argmax != nullptr) {
        const __m256i taps = _mm256_castps_si256(arg);
        int64_t* a = argmax + y * ow + x;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(a),
                            _mm256_cvtepi32_epi64(_mm256_castsi256_si128(taps)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(a + 4),
                            _mm256_cvtepi32_epi64(_mm256_extracti128_si256(taps, 1)));
      }
    }
  }
}
#endif

template <int KH, int KW, typename T>
void MaxBackwardPlane(const Pool2dShape& s, const T* grad_out, const int64_t* argmax, T* grad_in) {
  const int64_t kh = KH > 0 ? KH : s.kernel_h, kw = KW > 0 ? KW : s.kernel_w;
  const int64_t oh = s.out_h(), ow = s.out_w(), w = s.in_w;
  // Rows past oh * kh (none: the kernel divides the plane) would stay zero.
  std::fill(grad_in, grad_in + s.in_h * w, T(0));
  for (int64_t y = 0; y < oh; ++y) {
    T* rows = grad_in + y * kh * w;
    for (int64_t x = 0; x < ow; ++x) {
      const int64_t a = argmax[y * ow + x];
      const int64_t i = a / kw, j = a - i * kw;
      rows[i * w + x * kw + j] = grad_out[y * ow + x];
    }
  }
}

template <typename T>
void AvgPlane(const Pool2dShape& s, const T* in, T* out) {
  const int64_t kh = s.kernel_h, kw = s.kernel_w;
  const int64_t oh = s.out_h(), ow = s.out_w(), w = s.in_w;
  const T taps = static_cast<T>(kh * kw);
  for (int64_t y = 0; y < oh; ++y) {
    const T* rows = in + y * kh * w;
    for (int64_t x = 0; x < ow; ++x) {
      const T* win = rows + x * kw;
      double sum = 0;
      for (int64_t i = 0; i < kh; ++i) {
        for (int64_t j = 0; j < kw; ++j) sum += win[i * w + j];
      }
      out[y * ow + x] = static_cast<T>(sum) / taps;  // as Mean: the T sum over T(n)
    }
  }
}

template <typename T>
void AvgBackwardPlane(const Pool2dShape& s, const T* grad_out, T* grad_in) {
  const int64_t kh = s.kernel_h, kw = s.kernel_w;
  const int64_t oh = s.out_h(), ow = s.out_w(), w = s.in_w;
  const T taps = static_cast<T>(kh * kw);
  for (int64_t y = 0; y < oh; ++y) {
    for (int64_t i = 0; i < kh; ++i) {
      T* row = grad_in + (y * kh + i) * w;
      for (int64_t x = 0; x < ow; ++x) {
        const T g = grad_out[y * ow + x] / taps;
        for (int64_t j = 0; j < kw; ++j) row[x * kw + j] = g;
      }
    }
  }
}

bool Empty(const Pool2dShape& s) { return s.planes <= 0 || s.in_h <= 0 || s.in_w <= 0; }

}  // namespace

template <typename T>
void MaxPool2dForward(const Context& ctx, const Pool2dShape& s, const T* in, T* out,
                      int64_t* argmax) {
  if (Empty(s) || s.out_h() <= 0 || s.out_w() <= 0) return;
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h() * s.out_w();
  const bool two_by_two = s.kernel_h == 2 && s.kernel_w == 2;
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (UseThreads(ctx, s))
  for (int64_t p = 0; p < s.planes; ++p) {
    int64_t* a = argmax != nullptr ? argmax + p * out_plane : nullptr;
    if (two_by_two) {
      MaxPlane2x2(s, in + p * in_plane, out + p * out_plane, a);
    } else {
      MaxPlane(s, in + p * in_plane, out + p * out_plane, a);
    }
  }
}

template <typename T>
void MaxPool2dBackward(const Context& ctx, const Pool2dShape& s, const T* grad_out,
                       const int64_t* argmax, T* grad_in) {
  if (Empty(s)) return;
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h() * s.out_w();
  const bool two_by_two = s.kernel_h == 2 && s.kernel_w == 2;
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (UseThreads(ctx, s))
  for (int64_t p = 0; p < s.planes; ++p) {
    if (two_by_two) {
      MaxBackwardPlane<2, 2>(s, grad_out + p * out_plane, argmax + p * out_plane,
                             grad_in + p * in_plane);
    } else {
      MaxBackwardPlane<0, 0>(s, grad_out + p * out_plane, argmax + p * out_plane,
                             grad_in + p * in_plane);
    }
  }
}

template <typename T>
void AvgPool2dForward(const Context& ctx, const Pool2dShape& s, const T* in, T* out) {
  if (Empty(s) || s.out_h() <= 0 || s.out_w() <= 0) return;
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h() * s.out_w();
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (UseThreads(ctx, s))
  for (int64_t p = 0; p < s.planes; ++p) AvgPlane(s, in + p * in_plane, out + p * out_plane);
}

template <typename T>
void AvgPool2dBackward(const Context& ctx, const Pool2dShape& s, const T* grad_out, T* grad_in) {
  if (Empty(s)) return;
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h() * s.out_w();
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (UseThreads(ctx, s))
  for (int64_t p = 0; p < s.planes; ++p) {
    AvgBackwardPlane(s, grad_out + p * out_plane, grad_in + p * in_plane);
  }
}

#define MT_INSTANTIATE(T)                                                                       \
  template void MaxPool2dForward<T>(const Context&, const Pool2dShape&, const T*, T*, int64_t*); \
  template void MaxPool2dBackward<T>(const Context&, const Pool2dShape&, const T*,              \
                                     const int64_t*, T*);                                       \
  template void AvgPool2dForward<T>(const Context&, const Pool2dShape&, const T*, T*);          \
  template void AvgPool2dBackward<T>(const Context&, const Pool2dShape&, const T*, T*);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE

}  // namespace mt::kernels::cpu
