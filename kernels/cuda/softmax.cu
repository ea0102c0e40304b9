// Softmax launchers: the plans in softmax_body.h run on the GPU.
#include "kernels/cuda/device_exec.cuh"
#include "kernels/cuda/softmax.h"
#include "kernels/cuda/softmax_body.h"

namespace mt::kernels::cuda {

template <typename T>
void SoftmaxForward(const Context& ctx, bool log, const T* in, int64_t outer, int64_t n,
                    int64_t inner, T* out) {
  DeviceExec ex(ctx);
  SoftmaxForwardImpl(ex, log, in, outer, n, inner, out);
}

template <typename T>
void SoftmaxBackward(const Context& ctx, bool log, const T* out, const T* grad_out, int64_t outer,
                     int64_t n, int64_t inner, T* grad_in) {
  DeviceExec ex(ctx);
  SoftmaxBackwardImpl(ex, log, out, grad_out, outer, n, inner, grad_in);
}

template void SoftmaxForward<float>(const Context&, bool, const float*, int64_t, int64_t, int64_t,
                                    float*);
template void SoftmaxForward<double>(const Context&, bool, const double*, int64_t, int64_t, int64_t,
                                     double*);
template void SoftmaxBackward<float>(const Context&, bool, const float*, const float*, int64_t,
                                     int64_t, int64_t, float*);
template void SoftmaxBackward<double>(const Context&, bool, const double*, const double*, int64_t,
                                      int64_t, int64_t, double*);

}  // namespace mt::kernels::cuda
