// Optim launchers: the plans in optim_body.h run on the GPU.
#include "kernels/cuda/device_exec.cuh"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/optim_body.h"

namespace mt::kernels::cuda {

template <typename T>
void SgdStep(const Context& ctx, int64_t n, T* param, const T* grad, T* momentum_buf, T lr,
             T momentum, T weight_decay, bool first_step) {
  DeviceExec ex(ctx);
  SgdStepImpl(ex, n, param, grad, momentum_buf, lr, momentum, weight_decay, first_step);
}

template <typename T>
void AdamStep(const Context& ctx, int64_t n, T* param, const T* grad, T* m, T* v, T lr, T beta1,
              T beta2, T eps, T weight_decay, int64_t step) {
  DeviceExec ex(ctx);
  AdamStepImpl(ex, n, param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step);
}

template void SgdStep<float>(const Context&, int64_t, float*, const float*, float*, float, float,
                             float, bool);
template void SgdStep<double>(const Context&, int64_t, double*, const double*, double*, double,
                              double, double, bool);
template void AdamStep<float>(const Context&, int64_t, float*, const float*, float*, float*, float,
                              float, float, float, float, int64_t);
template void AdamStep<double>(const Context&, int64_t, double*, const double*, double*, double*,
                               double, double, double, double, double, int64_t);

}  // namespace mt::kernels::cuda
