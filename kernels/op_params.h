// Operation descriptors every device's kernels share (which elementwise function, which
// convolution geometry), so the engine's dispatch signatures do not depend on one backend.
#ifndef MT_KERNELS_OP_PARAMS_H_
#define MT_KERNELS_OP_PARAMS_H_

#include <cstdint>

namespace mt::kernels {

enum class UnaryOp {
  kCopy,      // y = x
  kNeg,       // y = -x
  kExp,       // y = exp(x)
  kLog,       // y = log(x)
  kRelu,      // y = max(x, 0)
  kSigmoid,   // y = 1 / (1 + exp(-x)), computed without overflow for large |x|
  kSoftplus,  // y = log(1 + exp(x)), stable: max(x,0) + log1p(exp(-|x|))
  kTanh,      // y = tanh(x)
  kSqrt,      // y = sqrt(x)
  kAbs,       // y = |x|
};

enum class BinaryOp {
  kAdd,           // a + b
  kSub,           // a - b
  kMul,           // a * b
  kDiv,           // a / b
  kLt,            // a < b  ? 1 : 0
  kEq,            // a == b ? 1 : 0
  kGt,            // a > b  ? 1 : 0
  kMaximum,       // max(a, b)
  kReluBackward,  // b > 0 ? a : 0   (a = upstream gradient, b = relu input)
  kPow,           // pow(a, b)
};

// 2-D convolution geometry (NCHW, no dilation, no groups); see kernels/cpu/conv.h.
struct Conv2dShape {
  int64_t batch = 0;
  int64_t in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  // out_h = (in_h + pad_top + pad_bottom - kernel_h) / stride_h + 1, likewise out_w.
  int64_t out_h() const { return (in_h + pad_top + pad_bottom - kernel_h) / stride_h + 1; }
  int64_t out_w() const { return (in_w + pad_left + pad_right - kernel_w) / stride_w + 1; }
  // 1x1, stride 1, unpadded: each sample's (C, H*W) input already is its im2col matrix.
  bool pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
           pad_bottom == 0 && pad_left == 0 && pad_right == 0;
  }
  // Elements of every sample's im2col matrix (batch, C*kh*kw, out_h*out_w); 0 when pointwise.
  int64_t columns_size() const {
    return pointwise() ? 0 : batch * in_channels * kernel_h * kernel_w * out_h() * out_w();
  }
};

// Non-overlapping 2-D pooling geometry: `planes` (batch * channels) planes of in_h x in_w, a
// kernel_h x kernel_w window moved by its own size; the kernel divides the plane.
struct Pool2dShape {
  int64_t planes = 0;
  int64_t in_h = 0, in_w = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t out_h() const { return in_h / kernel_h; }
  int64_t out_w() const { return in_w / kernel_w; }
};

}  // namespace mt::kernels

#endif  // MT_KERNELS_OP_PARAMS_H_
