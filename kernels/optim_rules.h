// The optimisers' per-element rules, PyTorch's, for every device: the CPU's loops
// (kernels/cpu/optim.cc) and the CUDA bodies (kernels/cuda/optim_body.h) call these, so the two
// compute the same expressions in the same order. They compile for host and device (nvcc).
#ifndef MT_KERNELS_OPTIM_RULES_H_
#define MT_KERNELS_OPTIM_RULES_H_

#include <cmath>
#include <cstdint>

#ifndef MT_HOST_DEVICE
#ifdef __CUDACC__
#define MT_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define MT_HOST_DEVICE inline
#endif
#endif

namespace mt::kernels {

// The gradient with L2 weight decay added, as torch.optim.SGD and torch.optim.Adam add it.
template <typename T>
MT_HOST_DEVICE T WithWeightDecay(T param, T grad, T weight_decay) {
  return grad + weight_decay * param;
}

// torch.optim.SGD (dampening 0, no Nesterov): g = WithWeightDecay(...); with momentum,
// buf = first ? g : momentum * buf + g and g = buf; param -= lr * g.
template <typename T>
MT_HOST_DEVICE T SgdMomentumBuffer(T g, T buf, T momentum, bool first_step) {
  // torch.optim.SGD seeds the buffer with the first gradient instead of decaying a zero one.
  return first_step ? g : momentum * buf + g;
}

// torch.optim.Adam (L2 weight decay added to the gradient, no AMSGrad), its bias corrections
// folded as PyTorch folds them: step_size = lr / (1 - b1^step), denom = sqrt(v) / sqrt(1 -
// b2^step) + eps, both corrections computed in double once per step (on the host).
template <typename T>
struct AdamCorrections {
  T step_size, sqrt_bc2;
};
template <typename T>
inline AdamCorrections<T> AdamCorrectionsFor(T lr, T beta1, T beta2, int64_t step) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  return {static_cast<T>(lr / bc1), static_cast<T>(std::sqrt(bc2))};
}
template <typename T>
MT_HOST_DEVICE void AdamElement(T& param, T grad, T& m, T& v, AdamCorrections<T> c, T beta1,
                                T beta2, T eps, T weight_decay) {
  const T g = WithWeightDecay(param, grad, weight_decay);
  const T mi = beta1 * m + (T(1) - beta1) * g;
  const T vi = beta2 * v + (T(1) - beta2) * g * g;
  m = mi;
  v = vi;
  param -= c.step_size * mi / (std::sqrt(vi) / c.sqrt_bc2 + eps);
}

}  // namespace mt::kernels

#endif  // MT_KERNELS_OPTIM_RULES_H_
