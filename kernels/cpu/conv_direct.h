// Direct (im2col-free) float convolution for the few-channel, stride-1 layers at the bottom of
// a CNN (LeNet-5's and MiniTorch's first convs): there the im2col matrix is C*kh*kw times the
// size of the input and building it costs as much as the multiply. These kernels read a
// zero-padded copy of the sample instead and keep a block of output channels x 16 output
// columns in AVX2 registers. conv.cc picks them through DirectConvApplies(); everything else
// stays on im2col + Gemm.
#ifndef MT_KERNELS_CPU_CONV_DIRECT_H_
#define MT_KERNELS_CPU_CONV_DIRECT_H_

#include <cstdint>
#include <vector>

#include "kernels/op_params.h"

namespace mt::kernels::cpu {

// True when the direct kernels handle `s` (and were compiled: AVX2).
bool DirectConvApplies(const Conv2dShape& s);

// The weights (O, C, kh, kw) rearranged tap-major, (C*kh*kw, O): one tap's output channels
// side by side, as the forward kernel broadcasts them.
std::vector<float> DirectConvTapMajorWeights(const Conv2dShape& s, const float* weight);

// One sample: out (O, oh, ow) = bias + conv(in (C, H, W)); tap_major from the function above;
// bias may be null.
void DirectConvForwardSample(const Conv2dShape& s, const float* in, const float* tap_major,
                             const float* bias, float* out);

// True when the input gradient takes the direct path below (and it was compiled: AVX2): stride
// 1, no padding past kernel - 1, few input channels.
bool DirectConvBackwardInputApplies(const Conv2dShape& s);
// The weights (O, C, kh, kw) flipped in both spatial dims, tap-major over (O, kh, kw): (O*kh*kw,
// C), as DirectConvBackwardInputSample reads them.
std::vector<float> DirectConvBackwardInputWeights(const Conv2dShape& s, const float* weight);
// One sample: grad_in (C, H, W) = d(sum(out * grad_out)) / d(in), computed as a forward conv of
// grad_out (O, oh, ow) zero-padded by kernel - 1 - pad, with the weights above; overwritten.
void DirectConvBackwardInputSample(const Conv2dShape& s, const float* grad_out,
                                   const float* weights, float* grad_in);
// One sample's weight gradient: acc (O, C, kh, kw) = (first ? 0 : acc) + sum over pixels of
// grad_out (O, oh, ow) times the input under each tap.
void DirectConvWeightGradSample(const Conv2dShape& s, const float* grad_out, const float* in,
                                bool first, float* acc);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_CONV_DIRECT_H_
