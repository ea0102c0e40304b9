// Reduce launchers: the plans in reduce_body.h run on the GPU.
#include "kernels/cuda/device_exec.cuh"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/reduce_body.h"

namespace mt::kernels::cuda {

template <typename T>
void SumDim(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner, T* out) {
  DeviceExec ex(ctx);
  SumDimImpl(ex, in, outer, n, inner, out);
}

template <typename T>
void MaxDim(const Context& ctx, const T* in, int64_t outer, int64_t n, int64_t inner, T* out,
            int64_t* argmax) {
  DeviceExec ex(ctx);
  MaxDimImpl(ex, in, outer, n, inner, out, argmax);
}

template <typename T>
void MaxDimBackward(const Context& ctx, const T* grad_out, const int64_t* argmax, int64_t outer,
                    int64_t n, int64_t inner, T* grad_in) {
  DeviceExec ex(ctx);
  MaxDimBackwardImpl(ex, grad_out, argmax, outer, n, inner, grad_in);
}

template void SumDim<float>(const Context&, const float*, int64_t, int64_t, int64_t, float*);
template void SumDim<double>(const Context&, const double*, int64_t, int64_t, int64_t, double*);
template void MaxDim<float>(const Context&, const float*, int64_t, int64_t, int64_t, float*,
                            int64_t*);
template void MaxDim<double>(const Context&, const double*, int64_t, int64_t, int64_t, double*,
                             int64_t*);
template void MaxDimBackward<float>(const Context&, const float*, const int64_t*, int64_t, int64_t,
                                    int64_t, float*);
template void MaxDimBackward<double>(const Context&, const double*, const int64_t*, int64_t,
                                     int64_t, int64_t, double*);

}  // namespace mt::kernels::cuda
