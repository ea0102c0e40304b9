#include "kernels/cpu/random.h"

namespace mt::kernels::cpu {

// mask: (n)
template <typename T>
void DropoutMask(const Context& ctx, std::mt19937_64& engine, int64_t n, double keep, double scale,
                 T* mask) {
  if (n <= 0) return;
  // One draw keys the counter-based generator; the stream then moves on by n draws in all, so
  // whatever draws from it after a dropout sees the same numbers on every device.
  const uint64_t key = engine();
  engine.discard(static_cast<unsigned long long>(n - 1));
  // Each element's draw depends only on (key, i): parallel and identical to the GPU's mask.
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (n >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    mask[i] = static_cast<T>(DropoutUniform01(key, static_cast<uint64_t>(i)) < keep ? scale : 0.0);
  }
}

template void DropoutMask<float>(const Context&, std::mt19937_64&, int64_t, double, double, float*);
template void DropoutMask<double>(const Context&, std::mt19937_64&, int64_t, double, double,
                                  double*);

}  // namespace mt::kernels::cpu
