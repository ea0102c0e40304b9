// Matmul launchers: the plans in matmul_body.h run on the GPU.
#include "kernels/cuda/device_exec.cuh"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/matmul_body.h"

namespace mt::kernels::cuda {

template <typename T>
void BatchedGemm(const Context& ctx, int64_t batch, bool trans_a, bool trans_b, int64_t m,
                 int64_t n, int64_t k, const T* a, int64_t stride_a, int64_t lda, const T* b,
                 int64_t stride_b, int64_t ldb, T beta, T* c, int64_t stride_c, int64_t ldc) {
  DeviceExec ex(ctx);
  BatchedGemmImpl(ex, batch, trans_a, trans_b, m, n, k, a, stride_a, lda, b, stride_b, ldb, beta, c,
                  stride_c, ldc);
}

template void BatchedGemm<float>(const Context&, int64_t, bool, bool, int64_t, int64_t, int64_t,
                                 const float*, int64_t, int64_t, const float*, int64_t, int64_t,
                                 float, float*, int64_t, int64_t);
template void BatchedGemm<double>(const Context&, int64_t, bool, bool, int64_t, int64_t, int64_t,
                                  const double*, int64_t, int64_t, const double*, int64_t, int64_t,
                                  double, double*, int64_t, int64_t);

}  // namespace mt::kernels::cuda
