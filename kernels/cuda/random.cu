// Random launchers: the plans in random_body.h run on the GPU.
#include "kernels/cuda/device_exec.cuh"
#include "kernels/cuda/random.h"
#include "kernels/cuda/random_body.h"

namespace mt::kernels::cuda {

template <typename T>
void DropoutMask(const Context& ctx, std::mt19937_64& engine, int64_t n, double keep, double scale,
                 T* mask) {
  DeviceExec ex(ctx);
  DropoutMaskImpl(ex, engine, n, keep, scale, mask);
}

template void DropoutMask<float>(const Context&, std::mt19937_64&, int64_t, double, double, float*);
template void DropoutMask<double>(const Context&, std::mt19937_64&, int64_t, double, double,
                                  double*);

}  // namespace mt::kernels::cuda
