// Batched matrix products on the GPU through cuBLAS (kernels/cpu/matmul.h's BatchedGemm).
// Device pointers; work is queued on ctx.stream (a cudaStream_t) and not waited for.
#ifndef MT_KERNELS_CUDA_MATMUL_H_
#define MT_KERNELS_CUDA_MATMUL_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cuda {

// For p < batch: C_p (m, n) = op(A_p) op(B_p) + beta C_p, row-major, A_p = a + p * stride_a
// (0 broadcasts); op(A) is (m, k), stored (k, m) when trans_a; likewise B. beta == 0 does not
// read C. Transposed views are passed to cuBLAS as flags, never copied. No TF32.
template <typename T>
void BatchedGemm(const Context& ctx, int64_t batch, bool trans_a, bool trans_b, int64_t m,
                 int64_t n, int64_t k, const T* a, int64_t stride_a, int64_t lda, const T* b,
                 int64_t stride_b, int64_t ldb, T beta, T* c, int64_t stride_c, int64_t ldc);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_MATMUL_H_
