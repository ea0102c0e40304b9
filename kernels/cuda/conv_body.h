// 2-D convolution (NCHW, stride, asymmetric padding, no dilation/groups; conv1d is in_h = 1)
// as im2col + one cuBLAS GEMM per chunk of images, with our own kernels around the GEMM:
//
//   forward   col (K, N) = im2col(input chunk)           K = C*kh*kw, N = images*P, P = oh*ow
//             tmp (O, N) = W (O, K) x col
//             out[b, o, p] = tmp[o, b*P + p] + bias[o]   (bias fused into the scatter)
//   bwd input g' (O, N) = grad_out chunk gathered;  colg (K, N) = W^T g'
//             grad_input = col2im(colg) as a gather: each input pixel sums the columns that
//             read it, so no atomics and a fixed order (deterministic)
//   bwd weight grad_W (O, K) = sum over chunks of g' col^T (beta = 1 after the first chunk)
//             grad_bias[o] = sum over (b, p) of grad_out: a block per o, a tree in double
//
// One GEMM covers all images of a chunk (columns of every image side by side), so a batch costs
// a handful of launches instead of one per image. Scratch (col, tmp) comes from the executor
// (the backend's caching allocator on a GPU); chunks keep each buffer under scratch_limit
// bytes (kConvScratchBytes unless a test asks for smaller chunks).
#ifndef MT_KERNELS_CUDA_CONV_BODY_H_
#define MT_KERNELS_CUDA_CONV_BODY_H_

#include <cstdint>

#include "kernels/cuda/body.h"
#include "kernels/cuda/elementwise_body.h"
#include "kernels/cuda/matmul_body.h"
#include "kernels/cuda/reduce_body.h"
#include "kernels/op_params.h"

namespace mt::kernels::cuda {

constexpr int64_t kConvScratchBytes = int64_t{256} << 20;

// Geometry in the int64 form kernels index with.
struct ConvGeometry {
  int64_t c, h, w, o, kh, kw, sh, sw, pt, pl, oh, ow;
};
inline ConvGeometry GeometryOf(const Conv2dShape& s) {
  return ConvGeometry{s.in_channels, s.in_h,     s.in_w,    s.out_channels, s.kernel_h, s.kernel_w,
                      s.stride_h,    s.stride_w, s.pad_top, s.pad_left,     s.out_h(),  s.out_w()};
}

// col (K, images*P) from input (images, C, H, W); zero where the window leaves the image.
template <typename T>
struct Im2ColBody {
  ConvGeometry g;
  int64_t images;
  const T* in;
  T* col;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    const int64_t p_size = g.oh * g.ow, n = images * p_size, total = g.c * g.kh * g.kw * n;
    for (int64_t e = GlobalThread(t); e < total; e += GlobalStride(t)) {
      const int64_t r = e / n, q = e - r * n;
      const int64_t c = r / (g.kh * g.kw), ij = r - c * (g.kh * g.kw);
      const int64_t i = ij / g.kw, j = ij - i * g.kw;
      const int64_t b = q / p_size, p = q - b * p_size;
      const int64_t y = p / g.ow, x = p - y * g.ow;
      const int64_t iy = y * g.sh + i - g.pt, ix = x * g.sw + j - g.pl;
      col[e] = (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w)
                   ? in[((b * g.c + c) * g.h + iy) * g.w + ix]
                   : T(0);
    }
  }
};

// grad_input (images, C, H, W) = sum of colg (K, images*P) entries that im2col read from each
// pixel: for tap (i, j), output y reads row y*sh + i - pt, so y = (iy + pt - i) / sh when exact.
template <typename T>
struct Col2ImBody {
  ConvGeometry g;
  int64_t images;
  const T* colg;
  T* grad_in;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    const int64_t p_size = g.oh * g.ow, n = images * p_size, total = images * g.c * g.h * g.w;
    for (int64_t e = GlobalThread(t); e < total; e += GlobalStride(t)) {
      const int64_t ix = e % g.w, iy = (e / g.w) % g.h, c = (e / (g.w * g.h)) % g.c;
      const int64_t b = e / (g.w * g.h * g.c);
      T acc = 0;
      // Tap arithmetic in 32 bits (kernel sizes, strides and padding are small): 64-bit
      // division is a subroutine call on the GPU.
      const int sh = static_cast<int>(g.sh), sw = static_cast<int>(g.sw);
      for (int i = 0; i < static_cast<int>(g.kh); ++i) {
        const int ty = static_cast<int>(iy + g.pt) - i;
        if (ty < 0 || ty % sh != 0 || ty / sh >= g.oh) continue;
        const int64_t y = ty / sh;
        for (int j = 0; j < static_cast<int>(g.kw); ++j) {
          const int tx = static_cast<int>(ix + g.pl) - j;
          if (tx < 0 || tx % sw != 0 || tx / sw >= g.ow) continue;
          const int64_t x = tx / sw;
          acc += colg[((c * g.kh + i) * g.kw + j) * n + b * p_size + y * g.ow + x];
        }
      }
      grad_in[e] = acc;
    }
  }
};

// dst (O, images*P) [o, b*P + p] = src (images, O, P) [b, o, p]
template <typename T>
struct ToChannelMajorBody {
  int64_t images, channels, p_size;
  const T* src;
  T* dst;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    const int64_t n = images * p_size, total = channels * n;
    for (int64_t e = GlobalThread(t); e < total; e += GlobalStride(t)) {
      const int64_t o = e / n, q = e - o * n;
      const int64_t b = q / p_size, p = q - b * p_size;
      dst[e] = src[(b * channels + o) * p_size + p];
    }
  }
};

// out (images, O, P) [b, o, p] = src (O, images*P) [o, b*P + p] + bias[o] (bias may be null),
// then max(., 0) when relu (the fused conv + bias + ReLU epilogue).
template <typename T>
struct FromChannelMajorBody {
  int64_t images, channels, p_size;
  const T* src;
  const T* bias;
  T* out;
  bool relu = false;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    const int64_t total = images * channels * p_size;
    for (int64_t e = GlobalThread(t); e < total; e += GlobalStride(t)) {
      const int64_t p = e % p_size, o = (e / p_size) % channels, b = e / (p_size * channels);
      const T v = src[o * images * p_size + b * p_size + p];
      const T y = bias != nullptr ? v + bias[o] : v;
      out[e] = relu && y < T(0) ? T(0) : y;  // NaN passes, as in Relu
    }
  }
};

// grad_bias[o] = sum over b < batch, p < P of grad_out (batch, O, P); a block per o.
template <typename T>
struct BiasGradBody {
  const T* grad_out;
  int64_t batch, channels, p_size;
  T* grad_bias;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    double* buf = t.template shared<double>();
    for (int64_t o = t.bid(); o < channels; o += t.nblocks()) {
      double s = 0;
      for (int64_t e = t.tid(); e < batch * p_size; e += t.nthreads()) {
        const int64_t b = e / p_size, p = e - b * p_size;
        s += grad_out[(b * channels + o) * p_size + p];
      }
      s = BlockReduce(t, buf, s, SumDouble{});
      if (t.tid() == 0) grad_bias[o] = static_cast<T>(s);
    }
  }
};

// Images per chunk so that the largest scratch buffer (rows x images*P of T) stays under
// kConvScratchBytes; at least one.
template <typename T>
int64_t ImagesPerChunk(int64_t batch, int64_t rows, int64_t p_size, int64_t scratch_limit) {
  const int64_t per_image = rows * p_size * static_cast<int64_t>(sizeof(T));
  if (per_image <= 0) return batch > 0 ? batch : 1;
  int64_t chunk = scratch_limit / per_image;
  if (chunk < 1) chunk = 1;
  return chunk < batch ? chunk : batch;
}

// ---------------------------------------------------------------- launch plans
// relu: out = max(conv + bias, 0) in the same pass (Conv2dBiasReluForward).
template <typename Exec, typename T>
void Conv2dForwardImpl(Exec& ex, const Conv2dShape& s, const T* input, const T* weight,
                       const T* bias, T* out, int64_t scratch_limit = kConvScratchBytes,
                       bool relu = false) {
  const ConvGeometry g = GeometryOf(s);
  const int64_t p_size = g.oh * g.ow, k = g.c * g.kh * g.kw;
  if (s.batch <= 0 || g.o <= 0 || p_size <= 0) return;
  if (k == 0) {  // no input channels: the output is the bias (or zero)
    auto zeros = ex.template Scratch<T>(g.o * p_size);
    FillImpl(ex, zeros.get(), g.o * p_size, T(0));
    for (int64_t b = 0; b < s.batch; ++b) {
      ex.Launch(
          GridFor(g.o * p_size), kBlock, 0,
          FromChannelMajorBody<T>{1, g.o, p_size, zeros.get(), bias, out + b * g.o * p_size, relu});
    }
    return;
  }
  const int64_t chunk = ImagesPerChunk<T>(s.batch, k > g.o ? k : g.o, p_size, scratch_limit);
  auto col = ex.template Scratch<T>(k * chunk * p_size);
  auto tmp = ex.template Scratch<T>(g.o * chunk * p_size);
  for (int64_t b0 = 0; b0 < s.batch; b0 += chunk) {
    const int64_t images = s.batch - b0 < chunk ? s.batch - b0 : chunk;
    const int64_t n = images * p_size;
    ex.Launch(GridFor(k * n), kBlock, 0,
              Im2ColBody<T>{g, images, input + b0 * g.c * g.h * g.w, col.get()});
    // tmp (O, n) = W (O, K) x col (K, n)
    RowMajorBatchedGemm(ex, 1, false, false, g.o, n, k, T(1), weight, 0, k, col.get(), 0, n, T(0),
                        tmp.get(), 0, n);
    ex.Launch(GridFor(g.o * n), kBlock, 0,
              FromChannelMajorBody<T>{images, g.o, p_size, tmp.get(), bias, out + b0 * g.o * p_size,
                                      relu});
  }
}

template <typename Exec, typename T>
void Conv2dBackwardInputImpl(Exec& ex, const Conv2dShape& s, const T* grad_out, const T* weight,
                             T* grad_input, int64_t scratch_limit = kConvScratchBytes) {
  const ConvGeometry g = GeometryOf(s);
  const int64_t p_size = g.oh * g.ow, k = g.c * g.kh * g.kw;
  const int64_t in_size = g.c * g.h * g.w;
  if (s.batch <= 0 || in_size <= 0) return;
  if (g.o <= 0 || p_size <= 0) {  // nothing reaches the input
    FillImpl(ex, grad_input, s.batch * in_size, T(0));
    return;
  }
  const int64_t chunk = ImagesPerChunk<T>(s.batch, k > g.o ? k : g.o, p_size, scratch_limit);
  auto gt = ex.template Scratch<T>(g.o * chunk * p_size);
  auto colg = ex.template Scratch<T>(k * chunk * p_size);
  for (int64_t b0 = 0; b0 < s.batch; b0 += chunk) {
    const int64_t images = s.batch - b0 < chunk ? s.batch - b0 : chunk;
    const int64_t n = images * p_size;
    ex.Launch(GridFor(g.o * n), kBlock, 0,
              ToChannelMajorBody<T>{images, g.o, p_size, grad_out + b0 * g.o * p_size, gt.get()});
    // colg (K, n) = W^T (K, O) x g' (O, n); W is stored (O, K)
    RowMajorBatchedGemm(ex, 1, true, false, k, n, g.o, T(1), weight, 0, k, gt.get(), 0, n, T(0),
                        colg.get(), 0, n);
    ex.Launch(GridFor(images * in_size), kBlock, 0,
              Col2ImBody<T>{g, images, colg.get(), grad_input + b0 * in_size});
  }
}

template <typename Exec, typename T>
void Conv2dBackwardWeightImpl(Exec& ex, const Conv2dShape& s, const T* grad_out, const T* input,
                              T* grad_weight, T* grad_bias,
                              int64_t scratch_limit = kConvScratchBytes) {
  const ConvGeometry g = GeometryOf(s);
  const int64_t p_size = g.oh * g.ow, k = g.c * g.kh * g.kw;
  if (g.o <= 0) return;
  if (grad_bias != nullptr) {
    ex.Launch(Grid{g.o < kMaxBlocks ? g.o : kMaxBlocks, 1}, kReduceBlock,
              kReduceBlock * sizeof(double),
              BiasGradBody<T>{grad_out, s.batch, g.o, p_size, grad_bias});
  }
  if (k <= 0) return;
  if (s.batch <= 0 || p_size <= 0) {  // an empty sum
    FillImpl(ex, grad_weight, g.o * k, T(0));
    return;
  }
  const int64_t chunk = ImagesPerChunk<T>(s.batch, k > g.o ? k : g.o, p_size, scratch_limit);
  auto col = ex.template Scratch<T>(k * chunk * p_size);
  auto gt = ex.template Scratch<T>(g.o * chunk * p_size);
  for (int64_t b0 = 0; b0 < s.batch; b0 += chunk) {
    const int64_t images = s.batch - b0 < chunk ? s.batch - b0 : chunk;
    const int64_t n = images * p_size;
    ex.Launch(GridFor(k * n), kBlock, 0,
              Im2ColBody<T>{g, images, input + b0 * g.c * g.h * g.w, col.get()});
    ex.Launch(GridFor(g.o * n), kBlock, 0,
              ToChannelMajorBody<T>{images, g.o, p_size, grad_out + b0 * g.o * p_size, gt.get()});
    // grad_W (O, K) (+)= g' (O, n) x col^T; col is stored (K, n)
    RowMajorBatchedGemm(ex, 1, false, true, g.o, k, n, T(1), gt.get(), 0, n, col.get(), 0, n,
                        b0 == 0 ? T(0) : T(1), grad_weight, 0, k);
  }
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_CONV_BODY_H_
