// Index launchers: the plans in index_body.h run on the GPU.
#include "kernels/cuda/device_exec.cuh"
#include "kernels/cuda/index.h"
#include "kernels/cuda/index_body.h"

namespace mt::kernels::cuda {

IndexError FindIndexOutside(const Context& ctx, const int64_t* ids, int64_t n, int64_t limit) {
  DeviceExec ex(ctx);
  IndexError e;
  FindIndexOutsideImpl(ex, ids, n, limit, &e.position, &e.value);
  return e;
}

template <typename T>
void OneHot(const Context& ctx, const int64_t* ids, int64_t n, int64_t num_classes, T* out) {
  DeviceExec ex(ctx);
  OneHotImpl(ex, ids, n, num_classes, out);
}

template void OneHot<float>(const Context&, const int64_t*, int64_t, int64_t, float*);
template void OneHot<double>(const Context&, const int64_t*, int64_t, int64_t, double*);
template void OneHot<int64_t>(const Context&, const int64_t*, int64_t, int64_t, int64_t*);

}  // namespace mt::kernels::cuda
