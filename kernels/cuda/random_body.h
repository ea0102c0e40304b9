// Dropout masks from the counter-based generator in kernels/random_bits.h: element i's draw is
// DropoutUniform01(key, i), so any thread computes any element, and the mask equals the CPU
// kernel's for the same key.
#ifndef MT_KERNELS_CUDA_RANDOM_BODY_H_
#define MT_KERNELS_CUDA_RANDOM_BODY_H_

#include <cstdint>
#include <random>

#include "kernels/cuda/body.h"
#include "kernels/random_bits.h"

namespace mt::kernels::cuda {

// mask[i] = DropoutUniform01(key, i) < keep ? scale : 0.  mask: (n)
template <typename T>
struct DropoutMaskBody {
  uint64_t key;
  int64_t n;
  double keep, scale;
  T* mask;
  template <typename Thread>
  MT_BODY void operator()(const Thread& t) const {
    for (int64_t i = GlobalThread(t); i < n; i += GlobalStride(t)) {
      mask[i] =
          static_cast<T>(DropoutUniform01(key, static_cast<uint64_t>(i)) < keep ? scale : 0.0);
    }
  }
};

// Draws the key from `engine` and advances it by n draws in all, as the CPU kernel does.
template <typename Exec, typename T>
void DropoutMaskImpl(Exec& ex, std::mt19937_64& engine, int64_t n, double keep, double scale,
                     T* mask) {
  if (n <= 0) return;
  const uint64_t key = engine();
  engine.discard(static_cast<unsigned long long>(n - 1));
  ex.Launch(GridFor(n), kBlock, 0, DropoutMaskBody<T>{key, n, keep, scale, mask});
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_RANDOM_BODY_H_
