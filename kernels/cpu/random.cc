#include "kernels/cpu/random.h"

namespace mt::kernels::cpu {

// mask: (n)
template <typename T>
void DropoutMask(const Context& ctx, std::mt19937_64& engine, int64_t n, double keep, double scale,
                 T* mask) {
  (void)ctx;
  for (int64_t i = 0; i < n; ++i) mask[i] = static_cast<T>(Uniform01(engine) < keep ? scale : 0.0);
}

template void DropoutMask<float>(const Context&, std::mt19937_64&, int64_t, double, double, float*);
template void DropoutMask<double>(const Context&, std::mt19937_64&, int64_t, double, double,
                                  double*);

}  // namespace mt::kernels::cpu
