#include "kernels/cpu/optim.h"

#include <omp.h>

#include <cmath>

namespace mt::kernels::cpu {
namespace {

// Below this many parameters a parallel region costs more than the update itself.
constexpr int64_t kMinParallelWork = 1 << 15;

bool UseThreads(int64_t n) { return !omp_in_parallel() && n >= kMinParallelWork; }

}  // namespace

// param, grad, momentum_buf: (n)
template <typename T>
void SgdStep(const Context& ctx, int64_t n, T* param, const T* grad, T* momentum_buf, T lr,
             T momentum, T weight_decay, bool first_step) {
  if (momentum == T(0)) {
#pragma omp parallel for simd schedule(static) num_threads(ctx.threads) if (UseThreads(n))
    for (int64_t i = 0; i < n; ++i) param[i] -= lr * (grad[i] + weight_decay * param[i]);
    return;
  }
  // torch.optim.SGD seeds the buffer with the first gradient instead of decaying a zero buffer.
#pragma omp parallel for simd schedule(static) num_threads(ctx.threads) if (UseThreads(n))
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i] + weight_decay * param[i];
    const T buf = first_step ? g : momentum * momentum_buf[i] + g;
    momentum_buf[i] = buf;
    param[i] -= lr * buf;
  }
}

// param, grad, m, v: (n)
template <typename T>
void AdamStep(const Context& ctx, int64_t n, T* param, const T* grad, T* m, T* v, T lr, T beta1,
              T beta2, T eps, T weight_decay, int64_t step) {
  // Bias corrections in double, then folded the way torch.optim.Adam folds them:
  // step_size = lr / bc1, denom = sqrt(v) / sqrt(bc2) + eps.
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  const T step_size = static_cast<T>(lr / bc1);
  const T sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
#pragma omp parallel for simd schedule(static) num_threads(ctx.threads) if (UseThreads(n))
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i] + weight_decay * param[i];
    m[i] = beta1 * m[i] + (T(1) - beta1) * g;
    v[i] = beta2 * v[i] + (T(1) - beta2) * g * g;
    param[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_bc2 + eps);
  }
}

#define MT_INSTANTIATE(T)                                                             \
  template void SgdStep<T>(const Context&, int64_t, T*, const T*, T*, T, T, T, bool); \
  template void AdamStep<T>(const Context&, int64_t, T*, const T*, T*, T*, T, T, T, T, T, int64_t);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE

}  // namespace mt::kernels::cpu
