#include "kernels/cpu/matmul.h"

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cpu {
namespace {

using testing::Eps;
using testing::RandomInt;
using testing::RandomVector;

template <typename T>
class MatmulTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(MatmulTest, Types);

struct Case {
  bool trans_a, trans_b;
  int64_t m, n, k;
  int64_t lda, ldb, ldc;
  double alpha, beta;

  std::string Describe() const {
    return "ta=" + std::to_string(trans_a) + " tb=" + std::to_string(trans_b) +
           " m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k) +
           " lda=" + std::to_string(lda) + " ldb=" + std::to_string(ldb) +
           " ldc=" + std::to_string(ldc) + " alpha=" + std::to_string(alpha) +
           " beta=" + std::to_string(beta);
  }
};

// Row stride at least the row length, sometimes padded.
int64_t LeadingDim(int64_t cols, std::mt19937_64& rng) {
  return std::max<int64_t>(cols, 1) + (RandomInt(rng, 0, 1) ? RandomInt(rng, 1, 5) : 0);
}

Case MakeCase(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, double beta,
              std::mt19937_64& rng) {
  return {ta, tb, m, n, k, LeadingDim(ta ? m : k, rng), LeadingDim(tb ? k : n, rng),
          LeadingDim(n, rng), alpha, beta};
}

// Runs one Gemm and checks it against a triple loop in double. Every element gets the
// tolerance of a length-k dot product: a few k-multiples of epsilon times sum |a_ip * b_pj|.
// Padding between rows of C must stay untouched, and with beta == 0 the NaN already in C must
// never leak into the result.
template <typename T>
void CheckGemm(const Case& c, std::mt19937_64& rng) {
  const int64_t a_rows = c.trans_a ? c.k : c.m, b_rows = c.trans_b ? c.n : c.k;
  const auto a = RandomVector<T>(a_rows * c.lda, rng);
  const auto b = RandomVector<T>(b_rows * c.ldb, rng);
  const T sentinel = T(12345);
  std::vector<T> out(c.m * c.ldc, sentinel);
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      out[i * c.ldc + j] = c.beta == 0 ? std::numeric_limits<T>::quiet_NaN() : T(0.25 * (i - j));
    }
  }
  const std::vector<T> before = out;
  Gemm<T>(testing::Ctx(), c.trans_a, c.trans_b, c.m, c.n, c.k, T(c.alpha), a.data(), c.lda,
          b.data(), c.ldb, T(c.beta), out.data(), c.ldc);
  const reference::GemmResult ref =
      reference::Gemm(c.trans_a, c.trans_b, c.m, c.n, c.k, c.alpha, a.data(), c.lda, b.data(),
                      c.ldb, c.beta, before.data(), c.ldc);
  int failures = 0;
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.ldc; ++j) {
      const T got = out[i * c.ldc + j];
      if (j >= c.n) {
        if (got != sentinel && ++failures <= 5) ADD_FAILURE() << c.Describe() << " wrote padding";
        continue;
      }
      const double expected = ref.c[i * c.n + j];
      const double tol = 4 * (c.k + 2) * Eps<T>() * ref.magnitude[i * c.n + j] + 1e-30;
      if (!(std::abs(got - expected) <= tol) && ++failures <= 5) {
        ADD_FAILURE() << c.Describe() << " C[" << i << "," << j << "] = " << got << ", expected "
                      << expected;
      }
    }
  }
}

TYPED_TEST(MatmulTest, RandomShapesAllTransposes) {
  using T = TypeParam;
  std::mt19937_64 rng(30);
  const double alphas[] = {1, -0.5, 2};
  const double betas[] = {0, 1, 0.7};
  for (int trial = 0; trial < 160; ++trial) {
    const bool ta = trial & 1, tb = trial & 2;
    // Mostly small odd sizes (edge tiles everywhere), sometimes 0 or 1, sometimes big enough
    // to cross the cache blocks in k and m.
    auto size = [&](int64_t big) {
      switch (RandomInt(rng, 0, 5)) {
        case 0: return RandomInt(rng, 0, 1);
        case 1: return RandomInt(rng, big / 2, big);
        default: return RandomInt(rng, 2, 40);
      }
    };
    const int64_t m = size(150), n = size(150), k = size(600);
    CheckGemm<T>(MakeCase(ta, tb, m, n, k, alphas[RandomInt(rng, 0, 2)],
                          betas[RandomInt(rng, 0, 2)], rng),
                 rng);
  }
}

// A packed once and reused gives Gemm's result bit for bit (same packing, same order of
// accumulation), across row blocks, k blocks, transposes, alpha, beta and the matrix-vector
// fallback; Unpack gives alpha * op(A) back.
TYPED_TEST(MatmulTest, PrepackedAMatchesGemmExactly) {
  using T = TypeParam;
  std::mt19937_64 rng(33);
  struct Dims {
    int64_t m, n, k;
  };
  const std::vector<Dims> dims = {{6, 784, 25},  {16, 100, 150}, {150, 100, 16}, {197, 45, 517},
                                  {7, 4500, 30}, {1, 40, 9},     {12, 1, 33},    {5, 3, 1}};
  for (const Dims& d : dims) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const T alpha = T(RandomInt(rng, 0, 1) ? 1.0 : -0.5);
        const T beta = T(RandomInt(rng, 0, 1) ? 0.0 : 0.7);
        const int64_t lda = ta ? d.m : d.k, ldb = tb ? d.k : d.n;
        std::vector<T> a = RandomVector<T>(d.m * d.k, rng), b = RandomVector<T>(d.k * d.n, rng);
        std::vector<T> c0 = RandomVector<T>(d.m * d.n, rng), c1 = c0;
        Gemm<T>(testing::Ctx(), ta, tb, d.m, d.n, d.k, alpha, a.data(), lda, b.data(), ldb, beta,
                c0.data(), d.n);
        const PackedA<T> packed(ta, d.m, d.k, alpha, a.data(), lda);
        std::fill(a.begin(), a.end(), T(0));  // the packed copy must not read A again
        GemmPackedA<T>(testing::Ctx(), packed, d.n, tb, b.data(), ldb, beta, c1.data(), d.n);
        const std::string what = "m " + std::to_string(d.m) + " n " + std::to_string(d.n) +
                                 " k " + std::to_string(d.k) + " ta " + std::to_string(ta) +
                                 " tb " + std::to_string(tb);
        if (d.m > 1 && d.n > 1) {
          EXPECT_EQ(c0, c1) << what;
        } else {  // matrix-vector: alpha applied before the dots, one rounding apart
          testing::ExpectAllClose(c1, std::vector<double>(c0.begin(), c0.end()), 8 * Eps<T>(),
                                  8 * Eps<T>() * d.k, what);
        }
      }
    }
  }
  const std::vector<T> a = RandomVector<T>(13 * 300, rng);
  const PackedA<T> packed(true, 300, 13, T(2), a.data(), 300);  // op(A) = A^T: (300, 13)
  std::vector<T> dense(300 * 13);
  packed.Unpack(dense.data());
  for (int64_t i = 0; i < 300; ++i) {
    for (int64_t p = 0; p < 13; ++p) ASSERT_EQ(dense[i * 13 + p], T(2) * a[p * 300 + i]);
  }
}

TYPED_TEST(MatmulTest, LargeAndWideProducts) {
  using T = TypeParam;
  std::mt19937_64 rng(31);
  for (int combo = 0; combo < 4; ++combo) {
    const bool ta = combo & 1, tb = combo & 2;
    // Multi-threaded: several row blocks, several k blocks, ragged edges.
    CheckGemm<T>(MakeCase(ta, tb, 197, 203, 517, 1, 0, rng), rng);
    // n beyond one column panel of packed B, k beyond one round of packed B; a single row
    // block split by columns.
    CheckGemm<T>(MakeCase(ta, tb, 7, 4500, 1100, 1, 1, rng), rng);
    // Matrix-vector products big enough for threads, with strided vectors.
    CheckGemm<T>(MakeCase(ta, tb, 1, 3000, 300, -1, 0.5, rng), rng);
    CheckGemm<T>(MakeCase(ta, tb, 3000, 1, 300, 2, 0, rng), rng);
  }
}

TYPED_TEST(MatmulTest, DegenerateSizes) {
  using T = TypeParam;
  std::mt19937_64 rng(32);
  for (int combo = 0; combo < 4; ++combo) {
    const bool ta = combo & 1, tb = combo & 2;
    for (int64_t m : {0, 1, 2}) {
      for (int64_t n : {0, 1, 17}) {
        for (int64_t k : {0, 1, 3}) {
          for (double beta : {0.0, 1.0, -2.0}) {
            CheckGemm<T>(MakeCase(ta, tb, m, n, k, 1.5, beta, rng), rng);
          }
        }
      }
    }
  }
}

TYPED_TEST(MatmulTest, ExactSmallProduct) {
  using T = TypeParam;
  // [[1 2 3], [4 5 6]] * [[1 0], [0 1], [1 1]] = [[4 5], [10 11]]
  const std::vector<T> a = {1, 2, 3, 4, 5, 6};
  const std::vector<T> b = {1, 0, 0, 1, 1, 1};
  std::vector<T> c(4, std::numeric_limits<T>::quiet_NaN());
  Gemm<T>(testing::Ctx(), false, false, 2, 2, 3, T(1), a.data(), 3, b.data(), 2, T(0), c.data(), 2);
  EXPECT_EQ(c, (std::vector<T>{4, 5, 10, 11}));
  // Same product from the transposed storage of both operands, accumulated on top (beta = 1).
  const std::vector<T> at = {1, 4, 2, 5, 3, 6};
  const std::vector<T> bt = {1, 0, 1, 0, 1, 1};
  Gemm<T>(testing::Ctx(), true, true, 2, 2, 3, T(1), at.data(), 2, bt.data(), 3, T(1), c.data(), 2);
  EXPECT_EQ(c, (std::vector<T>{8, 10, 20, 22}));
}

TYPED_TEST(MatmulTest, ResultDoesNotDependOnThreadCount) {
  using T = TypeParam;
  std::mt19937_64 rng(33);
  const int64_t m = 150, n = 170, k = 300;
  const auto a = RandomVector<T>(m * k, rng);
  const auto b = RandomVector<T>(k * n, rng);
  std::vector<T> c_threads(m * n), c_serial(m * n), c_nested(m * n);
  Gemm<T>(testing::Ctx(), false, false, m, n, k, T(1), a.data(), k, b.data(), n, T(0),
          c_threads.data(), n);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  Gemm<T>(testing::Ctx(), false, false, m, n, k, T(1), a.data(), k, b.data(), n, T(0),
          c_serial.data(), n);
  omp_set_num_threads(saved);
  // Called from inside a parallel region (as conv does per sample) it must run serially.
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    Gemm<T>(testing::Ctx(), false, false, m, n, k, T(1), a.data(), k, b.data(), n, T(0),
            c_nested.data(), n);
  }
  EXPECT_EQ(c_threads, c_serial);
  EXPECT_EQ(c_threads, c_nested);
}

template <typename T>
void CheckBatched(int64_t batch, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                  bool broadcast_a, bool broadcast_b, double beta, std::mt19937_64& rng) {
  const int64_t lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
  const int64_t a_size = (ta ? k : m) * lda, b_size = (tb ? n : k) * ldb, c_size = m * n;
  const int64_t stride_a = broadcast_a ? 0 : a_size, stride_b = broadcast_b ? 0 : b_size;
  const auto a = RandomVector<T>(broadcast_a ? a_size : batch * a_size, rng);
  const auto b = RandomVector<T>(broadcast_b ? b_size : batch * b_size, rng);
  auto c = RandomVector<T>(batch * c_size, rng);
  std::vector<T> expected = c;
  for (int64_t p = 0; p < batch; ++p) {
    Gemm<T>(testing::Ctx(), ta, tb, m, n, k, T(1), a.data() + p * stride_a, lda,
            b.data() + p * stride_b, ldb, T(beta), expected.data() + p * c_size, ldc);
  }
  BatchedGemm<T>(testing::Ctx(), batch, ta, tb, m, n, k, a.data(), stride_a, lda, b.data(),
                 stride_b, ldb, T(beta), c.data(), c_size, ldc);
  // Each product is one Gemm, and Gemm's result is independent of threading: bitwise equal.
  EXPECT_EQ(c, expected) << "batch " << batch << " ta=" << ta << " tb=" << tb;
}

TYPED_TEST(MatmulTest, BatchedMatchesLoopOfGemms) {
  using T = TypeParam;
  std::mt19937_64 rng(34);
  for (int combo = 0; combo < 4; ++combo) {
    const bool ta = combo & 1, tb = combo & 2;
    CheckBatched<T>(3, ta, tb, 5, 7, 9, false, false, 0, rng);
    CheckBatched<T>(4, ta, tb, 6, 3, 8, true, false, 1, rng);
    CheckBatched<T>(5, ta, tb, 9, 4, 2, false, true, 0.5, rng);
    CheckBatched<T>(16, ta, tb, 40, 50, 60, false, false, 0, rng);  // Threads across the batch.
  }
  // batch == 1 and batch == 0.
  CheckBatched<T>(1, false, false, 33, 20, 41, false, false, 0, rng);
  CheckBatched<T>(0, false, false, 3, 2, 4, false, false, 0, rng);
}

TYPED_TEST(MatmulTest, BatchedAgainstNaiveReference) {
  using T = TypeParam;
  // Guards against BatchedGemm and Gemm being wrong together: a hand check of one batch entry.
  const std::vector<T> a = {1, 2, 3, 4,  /* batch 1: */ 0, 1, 1, 0};  // (2, 2, 2)
  const std::vector<T> b = {1, 1, 0, 1};                              // (2, 2), broadcast
  std::vector<T> c(8, T(1));
  BatchedGemm<T>(testing::Ctx(), 2, false, false, 2, 2, 2, a.data(), 4, 2, b.data(), 0, 2, T(0),
                 c.data(), 4, 2);
  EXPECT_EQ(c, (std::vector<T>{1, 3, 3, 7, 0, 1, 1, 1}));
}

// The AVX-512 micro-kernel adds each product in the same order with the same fused
// multiply-adds as the AVX2 one: every product, full tiles and edges, has the same bits.
TEST(GemmAvx512, SameBitsAsAvx2) {
  if (!GemmUsesAvx512()) GTEST_SKIP() << "this CPU has no AVX-512 (or MT_CPU_AVX512=off)";
  std::mt19937_64 rng(7);
  const Case cases[] = {
      {false, false, 37, 80, 300, 300, 80, 80, 1.0, 0.0},   // two full slivers and edges
      {false, true, 64, 64, 150, 150, 150, 64, 1.0, 0.0},   // B packed from its transpose
      {true, false, 30, 100, 257, 30, 100, 100, 0.5, 1.0},  // kc blocks, beta 1
      {false, false, 6, 48, 20, 20, 48, 48, 1.0, 0.5},      // beta neither 0 nor 1
      {false, false, 13, 31, 9, 9, 31, 40, -2.0, 0.0},      // one full sliver and an edge
      {false, false, 16, 64, 150, 150, 64, 64, 1.0, 0.0},   // rows 6, 6, 4 (LeNet-5's conv2)
      {true, true, 5, 96, 40, 5, 40, 96, 1.0, 0.0},         // fewer rows than a tile
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.Describe());
    const std::vector<float> a = RandomVector<float>((c.trans_a ? c.k : c.m) * c.lda, rng);
    const std::vector<float> b = RandomVector<float>((c.trans_b ? c.n : c.k) * c.ldb, rng);
    const std::vector<float> c0 = RandomVector<float>(c.m * c.ldc, rng);
    for (int threads : {1, 2}) {
      Context ctx;
      ctx.threads = threads;
      std::vector<float> wide = c0, narrow = c0;
      Gemm<float>(ctx, c.trans_a, c.trans_b, c.m, c.n, c.k, static_cast<float>(c.alpha), a.data(),
                  c.lda, b.data(), c.ldb, static_cast<float>(c.beta), wide.data(), c.ldc);
      Avx512ForTesting(false);
      Gemm<float>(ctx, c.trans_a, c.trans_b, c.m, c.n, c.k, static_cast<float>(c.alpha), a.data(),
                  c.lda, b.data(), c.ldb, static_cast<float>(c.beta), narrow.data(), c.ldc);
      Avx512ForTesting(true);
      for (size_t i = 0; i < wide.size(); ++i) {
        ASSERT_EQ(std::memcmp(&wide[i], &narrow[i], sizeof(float)), 0)
            << "element " << i << ": " << wide[i] << " vs " << narrow[i];
      }
    }
  }
}

}  // namespace
}  // namespace mt::kernels::cpu
