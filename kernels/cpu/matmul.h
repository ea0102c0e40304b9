// Dense matrix products, row-major. Cache-blocked, vectorisable inner loops, OpenMP over
// blocks of C (serial when called inside a parallel region, e.g. per-sample conv).
#ifndef MT_KERNELS_CPU_MATMUL_H_
#define MT_KERNELS_CPU_MATMUL_H_

#include <cstdint>
#include <vector>

#include "kernels/context.h"

namespace mt::kernels::cpu {

// Float products take an AVX-512 micro-kernel where the CPU has it (chosen at run time, the
// same bits as the AVX2 one; MT_CPU_AVX512=off in the environment keeps AVX2). Whether they
// do now; for tests, Avx512ForTesting(false) turns it off and (true) back to the CPU's answer.
bool GemmUsesAvx512();
void Avx512ForTesting(bool allow);

// C = alpha * op(A) * op(B) + beta * C.  op(A): (m, k), op(B): (k, n), C: (m, n).
// A is stored (m, k) with row stride lda, or (k, m) when trans_a. Likewise B: (k, n) / (n, k).
// beta == 0 overwrites C without reading it (C may hold NaN garbage).
template <typename T>
void Gemm(const Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
          const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// op(A) scaled by alpha and packed once in Gemm's internal layout, for many products with
// different B: a conv's weights against each sample's columns. Owns its copy; A may change
// afterwards.
template <typename T>
class PackedA {
 public:
  PackedA(bool trans_a, int64_t m, int64_t k, T alpha, const T* a, int64_t lda);
  int64_t rows() const { return m_; }
  int64_t depth() const { return k_; }
  const T* data() const { return data_.data(); }
  // Writes alpha * op(A) back as a dense (m, k) row-major matrix.
  void Unpack(T* dense) const;
  // Elements of the packed layout of an (m, k) op(A).
  static int64_t Size(int64_t m, int64_t k);

 private:
  int64_t m_, k_;
  std::vector<T> data_;
};

// C = A * op(B) + beta * C with A packed beforehand (its alpha included): the same result, bit
// for bit, as Gemm on the matrix A was packed from -- except matrix-vector products (m or n
// == 1), where alpha rounds into A before the dot products instead of after them.
template <typename T>
void GemmPackedA(const Context& ctx, const PackedA<T>& a, int64_t n, bool trans_b, const T* b,
                 int64_t ldb, T beta, T* c, int64_t ldc);

// For p in [0, batch): C_p = op(A_p) * op(B_p) + beta * C_p, with A_p = a + p * stride_a (stride 0
// broadcasts one matrix over the batch), likewise B_p, C_p = c + p * stride_c.
template <typename T>
void BatchedGemm(const Context& ctx, int64_t batch, bool trans_a, bool trans_b, int64_t m,
                 int64_t n, int64_t k, const T* a, int64_t stride_a, int64_t lda, const T* b,
                 int64_t stride_b, int64_t ldb, T beta, T* c, int64_t stride_c, int64_t ldc);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_MATMUL_H_
