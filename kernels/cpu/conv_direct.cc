#include "kernels/cpu/conv_direct.h"

#include <algorithm>
#include <cstring>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MT_DIRECT_CONV 1
#endif

namespace mt::kernels::cpu {
namespace {

// Taps (C * kh * kw) beyond which im2col + Gemm wins: its packed blocks reuse each input value
// across many taps in cache, the direct loop reloads it per output channel block.
constexpr int64_t kMaxTaps = 64;
// Narrower outputs waste too many of a 16-column block's lanes.
constexpr int64_t kMinOutWidth = 12;
// The padded copy of one sample stays at most this many floats (16 MiB).
constexpr int64_t kMaxPaddedFloats = int64_t{1} << 22;
constexpr int64_t kBlockCols = 16;  // output columns per block: two AVX2 vectors
constexpr int64_t kMaxBlockChannels = 6;
// The input gradient's direct path (a forward pass over the padded grad_out): at most this
// many input channels (its output channels: blocks of 6 loaded once per tap) and taps O * kh *
// kw. There the alternative, W^T * grad_out and a col2im, writes and re-reads ckk values per
// pixel.
constexpr int64_t kMaxBackwardInputChannels = 18;
constexpr int64_t kMaxBackwardInputTaps = 1024;

int64_t RoundUp(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

// The zero-padded sample is (C, hp, wp): wide enough for a 16-column block's reads past ow.
struct Padded {
  int64_t hp, wp;
};
Padded Geometry(const Conv2dShape& s) {
  return {s.in_h + s.pad_top + s.pad_bottom,
          std::max(s.in_w + s.pad_left + s.pad_right,
                   RoundUp(s.out_w(), kBlockCols) + s.kernel_w - 1)};
}

// The sample (C, H, W) copied into a per-thread zeroed (C, hp, wp) buffer at (pad_top,
// pad_left). Throws std::bad_alloc (callers inside a parallel region catch it).
const float* PadSample(const Conv2dShape& s, const float* in) {
  const Padded g = Geometry(s);
  thread_local std::vector<float> buffer;
  const size_t need = static_cast<size_t>(s.in_channels * g.hp * g.wp);
  if (buffer.size() < need) buffer.resize(need);
  std::fill(buffer.begin(), buffer.begin() + need, 0.0f);
  for (int64_t c = 0; c < s.in_channels; ++c) {
    for (int64_t y = 0; y < s.in_h; ++y) {
      std::memcpy(buffer.data() + (c * g.hp + y + s.pad_top) * g.wp + s.pad_left,
                  in + (c * s.in_h + y) * s.in_w, static_cast<size_t>(s.in_w) * sizeof(float));
    }
  }
  return buffer.data();
}

#if MT_DIRECT_CONV
float HorizontalSum(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

// Output channels [ob, ob + NOB) of one sample: per output row, per 16-column block, NOB x 2
// accumulators (at most 12 of the 16 ymm registers) start at the bias and take every tap.
template <int NOB>
void ForwardBlock(const Conv2dShape& s, const float* pad, const Padded& g,
                  const float* tap_major, int64_t ob, const float* bias, float* out) {
  const int64_t oh = s.out_h(), ow = s.out_w(), channels = s.out_channels;
  for (int64_t y = 0; y < oh; ++y) {
    // Kernel rows that fall on the zero rows above or below the sample add nothing: skip them
    // (the input gradient's padded grad_out has kernel_h - 1 - pad of them on each side).
    const int64_t i0 = std::max<int64_t>(0, s.pad_top - y);
    const int64_t i1 = std::min<int64_t>(s.kernel_h, s.pad_top + s.in_h - y);
    for (int64_t xb = 0; xb < ow; xb += kBlockCols) {
      __m256 acc0[NOB], acc1[NOB];
#pragma GCC unroll 6
      for (int o = 0; o < NOB; ++o) {
        acc0[o] = acc1[o] = _mm256_set1_ps(bias != nullptr ? bias[ob + o] : 0.0f);
      }
      for (int64_t c = 0; c < s.in_channels; ++c) {
        for (int64_t i = i0; i < i1; ++i) {
          const float* row = pad + (c * g.hp + y + i) * g.wp + xb;
          const float* w = tap_major + (c * s.kernel_h + i) * s.kernel_w * channels + ob;
          for (int64_t j = 0; j < s.kernel_w; ++j) {
            const __m256 v0 = _mm256_loadu_ps(row + j), v1 = _mm256_loadu_ps(row + j + 8);
#pragma GCC unroll 6
            for (int o = 0; o < NOB; ++o) {
              const __m256 wv = _mm256_broadcast_ss(w + j * channels + o);
              acc0[o] = _mm256_fmadd_ps(wv, v0, acc0[o]);
              acc1[o] = _mm256_fmadd_ps(wv, v1, acc1[o]);
            }
          }
        }
      }
      const int64_t n = std::min(kBlockCols, ow - xb);
#pragma GCC unroll 6
      for (int o = 0; o < NOB; ++o) {
        float* dst = out + ((ob + o) * oh + y) * ow + xb;
        if (n == kBlockCols) {
          _mm256_storeu_ps(dst, acc0[o]);
          _mm256_storeu_ps(dst + 8, acc1[o]);
        } else {
          alignas(32) float tmp[kBlockCols];
          _mm256_store_ps(tmp, acc0[o]);
          _mm256_store_ps(tmp + 8, acc1[o]);
          std::copy(tmp, tmp + n, dst);
        }
      }
    }
  }
}

// sums[o * NT + t] = sum over pixels of grad (channels ob + o) times the padded input under
// tap (i, j0 + t) of input channel c. grad: (O, oh, gw) zero-padded to gw (a multiple of 8)
// columns, so the lanes past ow add nothing.
template <int NOB, int NT>
void WeightGradBlock(const Conv2dShape& s, const float* grad, int64_t gw, const float* pad,
                     const Padded& g, int64_t ob, int64_t c, int64_t i, int64_t j0,
                     float* sums) {
  const int64_t oh = s.out_h();
  __m256 acc[NOB][NT];
#pragma GCC unroll 6
  for (int o = 0; o < NOB; ++o) {
#pragma GCC unroll 3
    for (int t = 0; t < NT; ++t) acc[o][t] = _mm256_setzero_ps();
  }
  for (int64_t y = 0; y < oh; ++y) {
    const float* row = pad + (c * g.hp + y + i) * g.wp + j0;
    const float* gr = grad + (ob * oh + y) * gw;
    for (int64_t xb = 0; xb < gw; xb += 8) {
      __m256 v[NT];
#pragma GCC unroll 3
      for (int t = 0; t < NT; ++t) v[t] = _mm256_loadu_ps(row + xb + t);
#pragma GCC unroll 6
      for (int o = 0; o < NOB; ++o) {
        const __m256 gv = _mm256_loadu_ps(gr + o * oh * gw + xb);
#pragma GCC unroll 3
        for (int t = 0; t < NT; ++t) acc[o][t] = _mm256_fmadd_ps(gv, v[t], acc[o][t]);
      }
    }
  }
  for (int o = 0; o < NOB; ++o) {
    for (int t = 0; t < NT; ++t) sums[o * NT + t] = HorizontalSum(acc[o][t]);
  }
}

template <int NT>
void WeightGradBlockFor(int nob, const Conv2dShape& s, const float* grad, int64_t gw,
                        const float* pad, const Padded& g, int64_t ob, int64_t c, int64_t i,
                        int64_t j0, float* sums) {
  if constexpr (NT == 3) {  // 4 channels x 3 taps: 12 accumulators
    switch (nob) {
      case 1: return WeightGradBlock<1, 3>(s, grad, gw, pad, g, ob, c, i, j0, sums);
      case 2: return WeightGradBlock<2, 3>(s, grad, gw, pad, g, ob, c, i, j0, sums);
      case 3: return WeightGradBlock<3, 3>(s, grad, gw, pad, g, ob, c, i, j0, sums);
      default: return WeightGradBlock<4, 3>(s, grad, gw, pad, g, ob, c, i, j0, sums);
    }
  } else {
    switch (nob) {
      case 1: return WeightGradBlock<1, NT>(s, grad, gw, pad, g, ob, c, i, j0, sums);
      case 2: return WeightGradBlock<2, NT>(s, grad, gw, pad, g, ob, c, i, j0, sums);
      case 3: return WeightGradBlock<3, NT>(s, grad, gw, pad, g, ob, c, i, j0, sums);
      case 4: return WeightGradBlock<4, NT>(s, grad, gw, pad, g, ob, c, i, j0, sums);
      case 5: return WeightGradBlock<5, NT>(s, grad, gw, pad, g, ob, c, i, j0, sums);
      default: return WeightGradBlock<6, NT>(s, grad, gw, pad, g, ob, c, i, j0, sums);
    }
  }
}
#endif  // MT_DIRECT_CONV

}  // namespace

bool DirectConvApplies(const Conv2dShape& s) {
#if MT_DIRECT_CONV
  if (s.stride_h != 1 || s.stride_w != 1) return false;
  if (s.batch <= 0 || s.out_channels <= 0 || s.in_channels <= 0) return false;
  if (s.out_h() <= 0 || s.out_w() < kMinOutWidth) return false;
  if (s.in_channels * s.kernel_h * s.kernel_w > kMaxTaps) return false;
  const Padded g = Geometry(s);
  return s.in_channels * g.hp * g.wp <= kMaxPaddedFloats;
#else
  (void)s;
  return false;
#endif
}

std::vector<float> DirectConvTapMajorWeights(const Conv2dShape& s, const float* weight) {
  const int64_t taps = s.in_channels * s.kernel_h * s.kernel_w, channels = s.out_channels;
  std::vector<float> tap_major(static_cast<size_t>(taps * channels));
  for (int64_t o = 0; o < channels; ++o) {
    for (int64_t t = 0; t < taps; ++t) tap_major[t * channels + o] = weight[o * taps + t];
  }
  return tap_major;
}

void DirectConvForwardSample(const Conv2dShape& s, const float* in, const float* tap_major,
                             const float* bias, float* out) {
#if MT_DIRECT_CONV
  const float* pad = PadSample(s, in);
  const Padded g = Geometry(s);
  for (int64_t ob = 0; ob < s.out_channels; ob += kMaxBlockChannels) {
    switch (std::min(kMaxBlockChannels, s.out_channels - ob)) {
      case 1: ForwardBlock<1>(s, pad, g, tap_major, ob, bias, out); break;
      case 2: ForwardBlock<2>(s, pad, g, tap_major, ob, bias, out); break;
      case 3: ForwardBlock<3>(s, pad, g, tap_major, ob, bias, out); break;
      case 4: ForwardBlock<4>(s, pad, g, tap_major, ob, bias, out); break;
      case 5: ForwardBlock<5>(s, pad, g, tap_major, ob, bias, out); break;
      default: ForwardBlock<6>(s, pad, g, tap_major, ob, bias, out); break;
    }
  }
#else
  (void)s, (void)in, (void)tap_major, (void)bias, (void)out;
#endif
}

namespace {
// The input gradient of a stride-1 conv is a stride-1 conv of grad_out (O channels, oh x ow)
// padded by kernel - 1 - pad on each side, with the weights flipped in both spatial dims and
// their channel dims swapped: grad_in[c, y, x] = sum_{o,i,j} grad_out[o, y + pt - i, x + pl - j]
// * w[o, c, i, j] (zero outside grad_out). Its output is (C, H, W).
Conv2dShape BackwardInputAsForward(const Conv2dShape& s) {
  Conv2dShape t;
  t.batch = 1;
  t.in_channels = s.out_channels;
  t.in_h = s.out_h();
  t.in_w = s.out_w();
  t.out_channels = s.in_channels;
  t.kernel_h = s.kernel_h;
  t.kernel_w = s.kernel_w;
  t.stride_h = t.stride_w = 1;
  t.pad_top = s.kernel_h - 1 - s.pad_top;
  t.pad_bottom = s.kernel_h - 1 - s.pad_bottom;
  t.pad_left = s.kernel_w - 1 - s.pad_left;
  t.pad_right = s.kernel_w - 1 - s.pad_right;
  return t;
}
}  // namespace

bool DirectConvBackwardInputApplies(const Conv2dShape& s) {
#if MT_DIRECT_CONV
  if (s.stride_h != 1 || s.stride_w != 1) return false;
  if (s.batch <= 0 || s.out_channels <= 0 || s.in_channels <= 0) return false;
  if (s.out_h() <= 0 || s.out_w() <= 0 || s.in_w < kMinOutWidth) return false;
  // A padding past kernel - 1 has output pixels that see no input pixel at all; im2col handles
  // it.
  if (s.pad_top > s.kernel_h - 1 || s.pad_bottom > s.kernel_h - 1 ||
      s.pad_left > s.kernel_w - 1 || s.pad_right > s.kernel_w - 1) {
    return false;
  }
  // Many input channels (Kim CNN's 128-d embeddings): W^T * grad_out is a real product there.
  if (s.in_channels > kMaxBackwardInputChannels) return false;
  if (s.out_channels * s.kernel_h * s.kernel_w > kMaxBackwardInputTaps) return false;
  const Conv2dShape t = BackwardInputAsForward(s);
  const Padded g = Geometry(t);
  return t.in_channels * g.hp * g.wp <= kMaxPaddedFloats;
#else
  (void)s;
  return false;
#endif
}

std::vector<float> DirectConvBackwardInputWeights(const Conv2dShape& s, const float* weight) {
  const int64_t kh = s.kernel_h, kw = s.kernel_w, kk = kh * kw, channels = s.in_channels;
  std::vector<float> tap_major(static_cast<size_t>(s.out_channels * kk * channels));
  for (int64_t o = 0; o < s.out_channels; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < kh; ++i) {
        for (int64_t j = 0; j < kw; ++j) {
          tap_major[((o * kh + i) * kw + j) * channels + c] =
              weight[((o * channels + c) * kh + (kh - 1 - i)) * kw + (kw - 1 - j)];
        }
      }
    }
  }
  return tap_major;
}

void DirectConvBackwardInputSample(const Conv2dShape& s, const float* grad_out,
                                   const float* weights, float* grad_in) {
  DirectConvForwardSample(BackwardInputAsForward(s), grad_out, weights, nullptr, grad_in);
}

void DirectConvWeightGradSample(const Conv2dShape& s, const float* grad_out, const float* in,
                                bool first, float* acc) {
#if MT_DIRECT_CONV
  const float* pad = PadSample(s, in);
  const Padded g = Geometry(s);
  const int64_t oh = s.out_h(), ow = s.out_w(), gw = RoundUp(ow, 8);
  // grad_out with its rows zero-padded to gw columns.
  thread_local std::vector<float> grad;
  const size_t need = static_cast<size_t>(s.out_channels * oh * gw);
  if (grad.size() < need) grad.resize(need);
  for (int64_t r = 0; r < s.out_channels * oh; ++r) {
    std::copy(grad_out + r * ow, grad_out + (r + 1) * ow, grad.data() + r * gw);
    std::fill(grad.data() + r * gw + ow, grad.data() + (r + 1) * gw, 0.0f);
  }
  const int64_t kk = s.kernel_h * s.kernel_w;
  // A 3-wide kernel (MiniTorch's) takes a row's three taps at once for 4 channels; otherwise 6
  // channels take two taps at a time. Either way 12 accumulators, each input vector loaded once
  // per channel block.
  const bool three = s.kernel_w == 3;
  const int64_t block_channels = three ? 4 : kMaxBlockChannels, taps_per_pass = three ? 3 : 2;
  float sums[kMaxBlockChannels * 2];
  for (int64_t ob = 0; ob < s.out_channels; ob += block_channels) {
    const int nob = static_cast<int>(std::min(block_channels, s.out_channels - ob));
    for (int64_t c = 0; c < s.in_channels; ++c) {
      for (int64_t i = 0; i < s.kernel_h; ++i) {
        for (int64_t j0 = 0; j0 < s.kernel_w; j0 += taps_per_pass) {
          const int nt = static_cast<int>(std::min(taps_per_pass, s.kernel_w - j0));
          if (nt == 3) {
            WeightGradBlockFor<3>(nob, s, grad.data(), gw, pad, g, ob, c, i, j0, sums);
          } else if (nt == 2) {
            WeightGradBlockFor<2>(nob, s, grad.data(), gw, pad, g, ob, c, i, j0, sums);
          } else {
            WeightGradBlockFor<1>(nob, s, grad.data(), gw, pad, g, ob, c, i, j0, sums);
          }
          for (int o = 0; o < nob; ++o) {
            for (int t = 0; t < nt; ++t) {
              float& dst = acc[((ob + o) * s.in_channels + c) * kk + i * s.kernel_w + j0 + t];
              dst = (first ? 0.0f : dst) + sums[o * nt + t];
            }
          }
        }
      }
    }
  }
#else
  (void)s, (void)grad_out, (void)in, (void)first, (void)acc;
#endif
}

}  // namespace mt::kernels::cpu
