#include "kernels/cpu/loss.h"

#include <algorithm>

namespace mt::kernels::cpu {

// log_probs: (n, c)  target: (n)  out: (1)
template <typename T>
void NllLossForward(const Context& ctx, const T* log_probs, const int64_t* target, int64_t n,
                    int64_t c, T* out) {
  (void)ctx;  // n terms; serial keeps the summation order (and the bits) fixed.
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += log_probs[i * c + target[i]];
  out[0] = static_cast<T>(-sum / n);
}

// grad_out: (1)  target: (n)  grad_in: (n, c)
template <typename T>
void NllLossBackward(const Context& ctx, const T* grad_out, const int64_t* target, int64_t n,
                     int64_t c, T* grad_in) {
  (void)ctx;
  std::fill(grad_in, grad_in + n * c, T(0));
  const double v = -static_cast<double>(grad_out[0]) / n;
  for (int64_t i = 0; i < n; ++i) grad_in[i * c + target[i]] = static_cast<T>(v);
}

#define MT_INSTANTIATE(T)                                                                          \
  template void NllLossForward<T>(const Context&, const T*, const int64_t*, int64_t, int64_t, T*); \
  template void NllLossBackward<T>(const Context&, const T*, const int64_t*, int64_t, int64_t, T*);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE

}  // namespace mt::kernels::cpu
