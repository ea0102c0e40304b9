// Convolution plans (im2col, GEMM, col2im gather, bias fusion, chunking), emulated, against the
// reference's sums straight from the definition.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/conv_body.h"
#include "kernels/cuda/emu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda::emu {
namespace {

namespace ref = ::mt::kernels::reference;

template <typename T>
class ConvEmuTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ConvEmuTest, Types);

Conv2dShape Shape(int64_t b, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                  int64_t sh, int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr) {
  Conv2dShape s;
  s.batch = b;
  s.in_channels = c;
  s.in_h = h;
  s.in_w = w;
  s.out_channels = o;
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride_h = sh;
  s.stride_w = sw;
  s.pad_top = pt;
  s.pad_bottom = pb;
  s.pad_left = pl;
  s.pad_right = pr;
  return s;
}

template <typename T>
void ExpectDotClose(const std::vector<T>& got, const std::vector<double>& want,
                    const std::vector<double>& mag, int64_t terms, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 5; ++i) {
    const double tol = 4 * Eps<T>() * double(terms + 2) * mag[i] + 1e-300;
    if (!(std::abs(got[i] - want[i]) <= tol)) {
      ++failures;
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected " << want[i];
    }
  }
}

template <typename T>
void CheckConv(const Conv2dShape& s, bool with_bias, int64_t scratch_limit, std::mt19937_64& rng) {
  const std::string what = "N=" + std::to_string(s.batch) + " C=" + std::to_string(s.in_channels) +
                           " " + std::to_string(s.in_h) + "x" + std::to_string(s.in_w) +
                           " O=" + std::to_string(s.out_channels) +
                           " k=" + std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w) +
                           " limit=" + std::to_string(scratch_limit);
  const int64_t oh = s.out_h(), ow = s.out_w();
  auto in = RandomVector<T>(s.batch * s.in_channels * s.in_h * s.in_w, rng);
  auto w = RandomVector<T>(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w, rng);
  std::vector<T> bias = with_bias ? RandomVector<T>(s.out_channels, rng) : std::vector<T>{};
  auto g = RandomVector<T>(s.batch * s.out_channels * oh * ow, rng);
  const auto r = ref::Conv2d(s, in, w, bias, g);
  const int64_t terms = s.in_channels * s.kernel_h * s.kernel_w + 1;

  EmuExec ex;
  std::vector<T> out(g.size());
  Conv2dForwardImpl(ex, s, in.data(), w.data(), with_bias ? bias.data() : nullptr, out.data(),
                    scratch_limit);
  ExpectDotClose(out, r.out, r.out_mag, terms, what + " forward");

  std::vector<T> gi(in.size());
  Conv2dBackwardInputImpl(ex, s, g.data(), w.data(), gi.data(), scratch_limit);
  ExpectDotClose(gi, r.grad_input, r.grad_input_mag, s.out_channels * s.kernel_h * s.kernel_w,
                 what + " grad input");

  std::vector<T> gw(w.size()), gb(s.out_channels);
  Conv2dBackwardWeightImpl(ex, s, g.data(), in.data(), gw.data(), with_bias ? gb.data() : nullptr,
                           scratch_limit);
  ExpectDotClose(gw, r.grad_weight, r.grad_weight_mag, s.batch * oh * ow, what + " grad weight");
  if (with_bias) {
    ExpectAllClose(gb, r.grad_bias, 4 * Eps<T>(), 4 * Eps<T>() * std::sqrt(double(g.size())),
                   what + " grad bias");
  }
}

TYPED_TEST(ConvEmuTest, StridesAndAsymmetricPaddingMatchReference) {
  using T = TypeParam;
  std::mt19937_64 rng(16);
  const int64_t unlimited = kConvScratchBytes;
  // LeNet-like, strided with asymmetric padding, MiniTorch's top-left anchored "same" conv,
  // a 1x1 conv, and conv1d (in_h = kernel_h = 1).
  CheckConv<T>(Shape(2, 1, 12, 12, 3, 5, 5, 1, 1, 2, 2, 2, 2), true, unlimited, rng);
  CheckConv<T>(Shape(3, 2, 9, 7, 4, 3, 2, 2, 3, 1, 0, 0, 2), true, unlimited, rng);
  CheckConv<T>(Shape(2, 3, 6, 6, 2, 3, 3, 1, 1, 0, 2, 0, 2), false, unlimited, rng);
  CheckConv<T>(Shape(2, 4, 5, 5, 3, 1, 1, 1, 1, 0, 0, 0, 0), true, unlimited, rng);
  CheckConv<T>(Shape(3, 5, 1, 17, 4, 1, 3, 1, 2, 0, 0, 1, 1), true, unlimited, rng);
}

TYPED_TEST(ConvEmuTest, ChunkedBatchesGiveTheSameResult) {
  using T = TypeParam;
  std::mt19937_64 rng(17);
  const Conv2dShape s = Shape(5, 2, 6, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1);
  // Room for about two images' columns per chunk: three chunks, the last one short, and the
  // weight gradient accumulated across chunks.
  const int64_t per_image = 2 * 3 * 3 * 36 * int64_t(sizeof(T));
  EXPECT_EQ(ImagesPerChunk<T>(5, 18, 36, 2 * per_image), 2);
  CheckConv<T>(s, true, 2 * per_image, rng);
  CheckConv<T>(s, true, 1, rng);  // one image per chunk
}

TYPED_TEST(ConvEmuTest, FusedBiasReluEqualsReluOfTheForward) {
  using T = TypeParam;
  std::mt19937_64 rng(18);
  const Conv2dShape s = Shape(3, 2, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1);
  auto in = RandomVector<T>(3 * 2 * 49, rng);
  auto w = RandomVector<T>(4 * 2 * 9, rng);
  auto bias = RandomVector<T>(4, rng);
  std::vector<T> plain(3 * 4 * 49), fused(plain.size());
  EmuExec ex;
  Conv2dForwardImpl(ex, s, in.data(), w.data(), bias.data(), plain.data());
  Conv2dForwardImpl(ex, s, in.data(), w.data(), bias.data(), fused.data(), kConvScratchBytes,
                    /*relu=*/true);
  int64_t negatives = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    negatives += plain[i] < T(0);
    EXPECT_EQ(fused[i], plain[i] < T(0) ? T(0) : plain[i]);
  }
  EXPECT_GT(negatives, 0) << "the test should exercise the clamp";
}

TYPED_TEST(ConvEmuTest, EmptyBatchZeroesTheWeightGradient) {
  using T = TypeParam;
  const Conv2dShape s = Shape(0, 2, 4, 4, 3, 3, 3, 1, 1, 0, 0, 0, 0);
  std::vector<T> gw(3 * 2 * 9, T(5)), gb(3, T(5));
  EmuExec ex;
  Conv2dBackwardWeightImpl(ex, s, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr),
                           gw.data(), gb.data());
  for (T v : gw) EXPECT_EQ(v, T(0));
  for (T v : gb) EXPECT_EQ(v, T(0));
}

}  // namespace
}  // namespace mt::kernels::cuda::emu
