// In-place optimiser steps on flat (n) buffers, PyTorch's rules (kernels/cpu/optim.h), a thread
// per element. Run once over the model's flat parameter buffer, a step is one launch.
#ifndef MT_KERNELS_CUDA_OPTIM_BODY_H_
#define MT_KERNELS_CUDA_OPTIM_BODY_H_

#include <cmath>
#include <cstdint>

#include "kernels/cuda/body.h"
#include "kernels/optim_rules.h"

namespace mt::kernels::cuda {

// torch.optim.SGD (kernels/optim_rules.h): g = grad + wd * param; buf = first ? g : momentum *
// buf + g (if momentum); param -= lr * g
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
      T g = WithWeightDecay(param[i], grad[i], weight_decay);
      if (momentum != T(0)) {
        g = SgdMomentumBuffer(g, momentum_buf[i], momentum, first_step);
        momentum_buf[i] = g;
      }
      param[i] -= lr * g;
    }
  }
};

// torch.optim.Adam (kernels/optim_rules.h), its bias corrections computed once on the host.
template <typename T>
struct AdamStepBody {
  int64_t n;
  T* param;
  const T* grad;
  T* m;
  T* v;
  T beta1, beta2, eps, weight_decay;
  AdamCorrections<T> corrections;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t i = GlobalThread(t); i < n; i += GlobalStride(t)) {
      AdamElement(param[i], grad[i], m[i], v[i], corrections, beta1, beta2, eps, weight_decay);
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
  ex.Launch(GridFor(n), kBlock, 0,
            AdamStepBody<T>{n, param, grad, m, v, beta1, beta2, eps, weight_decay,
                            AdamCorrectionsFor(lr, beta1, beta2, step)});
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_OPTIM_BODY_H_
