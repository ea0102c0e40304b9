// In-place optimiser steps on flat (n) buffers, PyTorch's rules (kernels/cpu/optim.h), a thread
// per element. Run once over the model's flat parameter buffer, a step is one launch.
#ifndef MT_KERNELS_CUDA_OPTIM_BODY_H_
#define MT_KERNELS_CUDA_OPTIM_BODY_H_

#include <cmath>
#include <cstdint>

#include "kernels/cuda/body.h"

namespace mt::kernels::cuda {

// g = grad + wd * param; buf = first ? g : momentum * buf + g (if momentum); param -= lr * g
template <typename T>
struct SgdStepBody {
  int64_t n;
  T* param;
  const T* grad;
  T* momentum_buf;
  T lr, momentum, weight_decay;
  bool first_step;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t i = GlobalThread(t); i < n; i += GlobalStride(t)) {
      T g = grad[i] + weight_decay * param[i];
      if (momentum != T(0)) {
        g = first_step ? g : momentum * momentum_buf[i] + g;
        momentum_buf[i] = g;
      }
      param[i] -= lr * g;
    }
  }
};

// torch.optim.Adam with bias corrections folded as the CPU kernel folds them.
template <typename T>
struct AdamStepBody {
  int64_t n;
  T* param;
  const T* grad;
  T* m;
  T* v;
  T beta1, beta2, eps, weight_decay, step_size, sqrt_bc2;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t i = GlobalThread(t); i < n; i += GlobalStride(t)) {
      const T g = grad[i] + weight_decay * param[i];
      const T mi = beta1 * m[i] + (T(1) - beta1) * g;
      const T vi = beta2 * v[i] + (T(1) - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      param[i] -= step_size * mi / (std::sqrt(vi) / sqrt_bc2 + eps);
    }
  }
};

template <typename Exec, typename T>
void SgdStepImpl(Exec& ex, int64_t n, T* param, const T* grad, T* momentum_buf, T lr, T momentum,
                 T weight_decay, bool first_step) {
  if (n <= 0) return;
  ex.Launch(GridFor(n), kBlock, 0,
            SgdStepBody<T>{n, param, grad, momentum_buf, lr, momentum, weight_decay, first_step});
}

template <typename Exec, typename T>
void AdamStepImpl(Exec& ex, int64_t n, T* param, const T* grad, T* m, T* v, T lr, T beta1, T beta2,
                  T eps, T weight_decay, int64_t step) {
  if (n <= 0) return;
  // Bias corrections in double on the host, as the CPU kernel computes them.
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  const T step_size = static_cast<T>(lr / bc1);
  const T sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
  ex.Launch(
      GridFor(n), kBlock, 0,
      AdamStepBody<T>{n, param, grad, m, v, beta1, beta2, eps, weight_decay, step_size, sqrt_bc2});
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_OPTIM_BODY_H_
