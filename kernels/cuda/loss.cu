// Loss launchers: the plans in loss_body.h run on the GPU.
#include "kernels/cuda/device_exec.cuh"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/loss_body.h"

namespace mt::kernels::cuda {

template <typename T>
void NllLossForward(const Context& ctx, const T* log_probs, const int64_t* target, int64_t n,
                    int64_t c, T* out) {
  DeviceExec ex(ctx);
  NllLossForwardImpl(ex, log_probs, target, n, c, out);
}

template <typename T>
void NllLossBackward(const Context& ctx, const T* grad_out, const int64_t* target, int64_t n,
                     int64_t c, T* grad_in) {
  DeviceExec ex(ctx);
  NllLossBackwardImpl(ex, grad_out, target, n, c, grad_in);
}

template void NllLossForward<float>(const Context&, const float*, const int64_t*, int64_t, int64_t,
                                    float*);
template void NllLossForward<double>(const Context&, const double*, const int64_t*, int64_t,
                                     int64_t, double*);
template void NllLossBackward<float>(const Context&, const float*, const int64_t*, int64_t, int64_t,
                                     float*);
template void NllLossBackward<double>(const Context&, const double*, const int64_t*, int64_t,
                                      int64_t, double*);

}  // namespace mt::kernels::cuda
