// Conv launchers: the plans in conv_body.h run on the GPU.
#include "kernels/cuda/conv.h"
#include "kernels/cuda/conv_body.h"
#include "kernels/cuda/device_exec.cuh"

namespace mt::kernels::cuda {

template <typename T>
void Conv2dForward(const Context& ctx, const Conv2dShape& s, const T* input, const T* weight,
                   const T* bias, T* out) {
  DeviceExec ex(ctx);
  Conv2dForwardImpl(ex, s, input, weight, bias, out);
}

template <typename T>
void Conv2dBackwardInput(const Context& ctx, const Conv2dShape& s, const T* grad_out,
                         const T* weight, T* grad_input) {
  DeviceExec ex(ctx);
  Conv2dBackwardInputImpl(ex, s, grad_out, weight, grad_input);
}

template <typename T>
void Conv2dBackwardWeight(const Context& ctx, const Conv2dShape& s, const T* grad_out,
                          const T* input, T* grad_weight, T* grad_bias) {
  DeviceExec ex(ctx);
  Conv2dBackwardWeightImpl(ex, s, grad_out, input, grad_weight, grad_bias);
}

template <typename T>
void Conv2dBiasReluForward(const Context& ctx, const Conv2dShape& s, const T* input,
                           const T* weight, const T* bias, T* out) {
  DeviceExec ex(ctx);
  Conv2dForwardImpl(ex, s, input, weight, bias, out, kConvScratchBytes, /*relu=*/true);
}

template void Conv2dBiasReluForward<float>(const Context&, const Conv2dShape&, const float*,
                                           const float*, const float*, float*);
template void Conv2dBiasReluForward<double>(const Context&, const Conv2dShape&, const double*,
                                            const double*, const double*, double*);
template void Conv2dForward<float>(const Context&, const Conv2dShape&, const float*, const float*,
                                   const float*, float*);
template void Conv2dForward<double>(const Context&, const Conv2dShape&, const double*,
                                    const double*, const double*, double*);
template void Conv2dBackwardInput<float>(const Context&, const Conv2dShape&, const float*,
                                         const float*, float*);
template void Conv2dBackwardInput<double>(const Context&, const Conv2dShape&, const double*,
                                          const double*, double*);
template void Conv2dBackwardWeight<float>(const Context&, const Conv2dShape&, const float*,
                                          const float*, float*, float*);
template void Conv2dBackwardWeight<double>(const Context&, const Conv2dShape&, const double*,
                                           const double*, double*, double*);

}  // namespace mt::kernels::cuda
