// Batched GEMM: the row-major -> cuBLAS column-major mapping, run by an emulated cuBLAS that
// follows cuBLAS's definition, against the reference.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/emu/test_util.h"
#include "kernels/cuda/matmul_body.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda::emu {
namespace {

namespace ref = ::mt::kernels::reference;

template <typename T>
class MatmulEmuTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(MatmulEmuTest, Types);

TYPED_TEST(MatmulEmuTest, EveryTransposeBroadcastAndBetaMatchesReference) {
  using T = TypeParam;
  std::mt19937_64 rng(15);
  const int64_t batch = 3, m = 5, n = 7, k = 4;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (bool broadcast_b : {false, true}) {
        for (double beta : {0.0, 0.5}) {
          // Row strides wider than the rows: views into bigger buffers.
          const int64_t lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
          const int64_t a_rows = ta ? k : m, b_rows = tb ? n : k;
          const int64_t sa = a_rows * lda, sb = broadcast_b ? 0 : b_rows * ldb, sc = m * ldc;
          auto a = RandomVector<T>(batch * sa, rng);
          auto b = RandomVector<T>(broadcast_b ? sb + b_rows * ldb : batch * sb, rng);
          std::vector<T> c(batch * sc);
          for (auto& x : c) x = beta == 0 ? std::numeric_limits<T>::quiet_NaN() : T(0.25);
          const std::vector<T> before = c;
          EmuExec ex;
          BatchedGemmImpl(ex, batch, ta, tb, m, n, k, a.data(), sa, lda, b.data(), sb, ldb, T(beta),
                          c.data(), sc, ldc);
          EXPECT_EQ(ex.gemms, 1) << "one strided-batched call for the whole batch";
          const std::string what = "ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) +
                                   " bcast=" + std::to_string(broadcast_b) +
                                   " beta=" + std::to_string(beta);
          for (int64_t p = 0; p < batch; ++p) {
            const auto r = ref::Gemm(ta, tb, m, n, k, 1.0, a.data() + p * sa, lda,
                                     b.data() + p * sb, ldb, beta, before.data() + p * sc, ldc);
            for (int64_t i = 0; i < m; ++i) {
              for (int64_t j = 0; j < ldc; ++j) {
                const T got = c[p * sc + i * ldc + j];
                if (j >= n) {  // padding between rows is never written
                  EXPECT_EQ(std::isnan(got), beta == 0) << what;
                  continue;
                }
                const double tol = 4 * (k + 2) * Eps<T>() * r.magnitude[i * n + j];
                EXPECT_NEAR(got, r.c[i * n + j], tol) << what << " at " << i << "," << j;
              }
            }
          }
        }
      }
    }
  }
}

TEST(MatmulEmuTest, RowVectorsMayComeWithAnyRowStride) {
  // (1, k) x (k, n) with lda = 0: a single row has no stride; cuBLAS still gets lda >= k.
  std::vector<double> a = {1, 2, 3}, b = {1, 0, 0, 1, 1, 1}, c(2);
  EmuExec ex;
  BatchedGemmImpl(ex, 1, false, false, 1, 2, 3, a.data(), 0, 0, b.data(), 0, 2, 0.0, c.data(), 0,
                  0);
  EXPECT_EQ(c, (std::vector<double>{4, 5}));
}

TEST(MatmulEmuTest, EmptyProductsLaunchNothingAndHugeOnesAreRefused) {
  EmuExec ex;
  double c = 1;
  BatchedGemmImpl(ex, 1, false, false, 0, 1, 1, &c, 0, 1, &c, 0, 1, 0.0, &c, 0, 1);
  EXPECT_EQ(ex.gemms, 0);
  EXPECT_THROW(BatchedGemmImpl(ex, 1, false, false, int64_t{1} << 32, 1, 1, &c, 0, 1, &c, 0, 1, 0.0,
                               &c, 0, 1),
               std::invalid_argument);
}

}  // namespace
}  // namespace mt::kernels::cuda::emu
