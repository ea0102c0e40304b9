// Batched row-major GEMM through cuBLAS's column-major strided-batched GEMM, without copies:
// a row-major (r, c) matrix with row stride ld is the column-major (c, r) matrix with leading
// dimension ld, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T with the operands
// swapped and the transpose flags kept. Transposed views reach cuBLAS as flags, not copies.
#ifndef MT_KERNELS_CUDA_MATMUL_BODY_H_
#define MT_KERNELS_CUDA_MATMUL_BODY_H_

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace mt::kernels::cuda {

inline int CheckedInt(int64_t v, const char* what) {
  if (v < 0 || v > std::numeric_limits<int>::max()) {
    throw std::invalid_argument(std::string("BatchedGemm: ") + what + " = " + std::to_string(v) +
                                " is outside cuBLAS's int range");
  }
  return static_cast<int>(v);
}

// A row-major matrix of `rows` rows and `cols` columns may come with any row stride when it
// has at most one row (nothing is read with it); cuBLAS still wants ld >= its column count.
inline int64_t LeadingDim(int64_t ld, int64_t rows, int64_t cols) {
  if (rows <= 1 && ld < cols) return cols > 1 ? cols : 1;
  return ld < 1 ? 1 : ld;
}

// For p < batch: C_p (m, n) = alpha op(A_p) op(B_p) + beta C_p, row-major; A_p = a + p*stride_a
// (stride 0 broadcasts), op(A): (m, k) stored (m, k) or (k, m) when trans_a; likewise B.
// beta == 0 does not read C.
template <typename Exec, typename T>
void RowMajorBatchedGemm(Exec& ex, int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n,
                         int64_t k, T alpha, const T* a, int64_t stride_a, int64_t lda, const T* b,
                         int64_t stride_b, int64_t ldb, T beta, T* c, int64_t stride_c,
                         int64_t ldc) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
  const int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
  lda = LeadingDim(lda, a_rows, a_cols);
  ldb = LeadingDim(ldb, b_rows, b_cols);
  ldc = LeadingDim(ldc, m, n);
  ex.GemmColMajor(trans_b, trans_a, CheckedInt(n, "n"), CheckedInt(m, "m"), CheckedInt(k, "k"),
                  alpha, b, CheckedInt(ldb, "ldb"), stride_b, a, CheckedInt(lda, "lda"), stride_a,
                  beta, c, CheckedInt(ldc, "ldc"), stride_c, CheckedInt(batch, "batch"));
}

template <typename Exec, typename T>
void BatchedGemmImpl(Exec& ex, int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n,
                     int64_t k, const T* a, int64_t stride_a, int64_t lda, const T* b,
                     int64_t stride_b, int64_t ldb, T beta, T* c, int64_t stride_c, int64_t ldc) {
  RowMajorBatchedGemm(ex, batch, trans_a, trans_b, m, n, k, T(1), a, stride_a, lda, b, stride_b,
                      ldb, beta, c, stride_c, ldc);
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_MATMUL_BODY_H_
