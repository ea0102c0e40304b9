#include "kernels/cpu/conv_pool.h"

#include <omp.h>

#include <algorithm>
#include <new>
#include <type_traits>
#include <vector>

#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/pool.h"

namespace mt::kernels::cpu {
namespace {
// A sample's conv output up to this many floats (1 MiB) stays allocated per thread between calls.
constexpr int64_t kKeptConvFloats = int64_t{1} << 18;
}  // namespace

template <typename T>
bool Conv2dMaxPoolReluApplies(const Conv2dShape& s, int64_t kh, int64_t kw) {
  if constexpr (!std::is_same_v<T, float>) {
    return false;
  } else {
    return kh >= 1 && kw >= 1 && DirectConvApplies(s) && s.out_h() % kh == 0 &&
           s.out_w() % kw == 0;
  }
}

template <typename T>
void Conv2dMaxPoolReluForward(const Context& ctx, const Conv2dShape& s, int64_t kh, int64_t kw,
                              const T* input, const T* weight, const T* bias, T* out,
                              int64_t* argmax) {
  if constexpr (!std::is_same_v<T, float>) {
    (void)ctx, (void)s, (void)kh, (void)kw, (void)input, (void)weight, (void)bias, (void)out,
        (void)argmax;
  } else {
    const int64_t in_size = s.in_channels * s.in_h * s.in_w;
    const int64_t conv_size = s.out_channels * s.out_h() * s.out_w();
    Pool2dShape p;
    p.planes = s.out_channels;
    p.in_h = s.out_h();
    p.in_w = s.out_w();
    p.kernel_h = kh;
    p.kernel_w = kw;
    const int64_t pooled = s.out_channels * p.out_h() * p.out_w();
    const std::vector<float> tap_major = DirectConvTapMajorWeights(s, weight);
    const Context one;  // the pooling of one sample runs on the thread that made its conv
    bool out_of_memory = false;
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if ( \
    ctx.threads > 1 && s.batch > 1 && !omp_in_parallel())
    for (int64_t b = 0; b < s.batch; ++b) {
      try {
        // Kept per thread up to kKeptConvFloats (LeNet-5's conv1: 4704), else per sample.
        thread_local std::vector<float> kept;
        std::vector<float> large;
        std::vector<float>& conv = conv_size <= kKeptConvFloats ? kept : large;
        if (conv.size() < static_cast<size_t>(conv_size)) conv.resize(conv_size);
        DirectConvForwardSample(s, input + b * in_size, tap_major.data(), bias, conv.data());
        float* o = out + b * pooled;
        MaxPool2dForward<float>(one, p, conv.data(), o,
                                argmax != nullptr ? argmax + b * pooled : nullptr);
#pragma omp simd
        for (int64_t i = 0; i < pooled; ++i) o[i] = o[i] < 0.0f ? 0.0f : o[i];  // as Relu: NaN stays
      } catch (const std::bad_alloc&) {
        // An exception must not leave an OpenMP region; rethrown below.
#pragma omp atomic write
        out_of_memory = true;
      }
    }
    if (out_of_memory) throw std::bad_alloc();
  }
}

#define MT_INSTANTIATE(T)                                                                   \
  template bool Conv2dMaxPoolReluApplies<T>(const Conv2dShape&, int64_t, int64_t);          \
  template void Conv2dMaxPoolReluForward<T>(const Context&, const Conv2dShape&, int64_t,    \
                                            int64_t, const T*, const T*, const T*, T*,      \
                                            int64_t*);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE

}  // namespace mt::kernels::cpu
