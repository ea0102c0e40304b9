#include "kernels/cpu/conv_pool.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/test_util.h"

namespace mt::kernels::cpu {
namespace {

using testing::RandomVector;

Conv2dShape Shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k, int64_t pad) {
  Conv2dShape s;
  s.batch = n, s.in_channels = c, s.in_h = h, s.in_w = w, s.out_channels = o;
  s.kernel_h = s.kernel_w = k;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = pad;
  return s;
}

// The fused pass against the three kernels it replaces, run one after another: the same bits
// and the same window taps, on 1 and on all threads.
void CheckAgainstComposed(const Conv2dShape& s, int64_t kh, int64_t kw, bool with_bias,
                          std::mt19937_64& rng) {
  ASSERT_TRUE((Conv2dMaxPoolReluApplies<float>(s, kh, kw)));
  const auto in = RandomVector<float>(s.batch * s.in_channels * s.in_h * s.in_w, rng);
  const auto w = RandomVector<float>(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w, rng);
  const auto bias = RandomVector<float>(s.out_channels, rng);
  const float* b = with_bias ? bias.data() : nullptr;
  std::vector<float> conv(s.batch * s.out_channels * s.out_h() * s.out_w());
  Conv2dForward<float>(Context{1}, s, in.data(), w.data(), b, conv.data());
  Pool2dShape p;
  p.planes = s.batch * s.out_channels, p.in_h = s.out_h(), p.in_w = s.out_w();
  p.kernel_h = kh, p.kernel_w = kw;
  std::vector<float> want(p.planes * p.out_h() * p.out_w());
  std::vector<int64_t> want_taps(want.size());
  MaxPool2dForward<float>(Context{1}, p, conv.data(), want.data(), want_taps.data());
  for (float& v : want) v = v < 0.0f ? 0.0f : v;
  const std::string what = "N=" + std::to_string(s.batch) + " C=" + std::to_string(s.in_channels) +
                           " " + std::to_string(s.in_h) + "x" + std::to_string(s.in_w) +
                           " O=" + std::to_string(s.out_channels) + " pool " +
                           std::to_string(kh) + "x" + std::to_string(kw);
  int positives = 0;
  for (float v : want) positives += v > 0;
  EXPECT_GT(positives, 0) << what;  // the ReLU had something to pass
  EXPECT_LT(positives, static_cast<int>(want.size())) << what;  // ... and something to cut
  for (const Context& ctx : {Context{1}, testing::Ctx()}) {
    std::vector<float> got(want.size(), -7.0f);
    std::vector<int64_t> taps(want.size(), -1);
    Conv2dMaxPoolReluForward<float>(ctx, s, kh, kw, in.data(), w.data(), b, got.data(),
                                    taps.data());
    EXPECT_EQ(got, want) << what << " on " << ctx.threads << " threads";
    EXPECT_EQ(taps, want_taps) << what;
    std::vector<float> no_taps(want.size(), -7.0f);
    Conv2dMaxPoolReluForward<float>(ctx, s, kh, kw, in.data(), w.data(), b, no_taps.data(),
                                    nullptr);
    EXPECT_EQ(no_taps, want) << what;
  }
}

TEST(Conv2dMaxPoolRelu, MatchesConvThenPoolThenRelu) {
#if !(defined(__AVX2__) && defined(__FMA__))
  GTEST_SKIP() << "the fused pass needs the direct conv kernels, built with AVX2 only";
#endif
  std::mt19937_64 rng(43);
  CheckAgainstComposed(Shape(5, 1, 28, 28, 6, 5, 2), 2, 2, true, rng);  // LeNet-5's conv1
  CheckAgainstComposed(Shape(3, 1, 28, 28, 6, 5, 2), 2, 2, false, rng);
  CheckAgainstComposed(Shape(2, 2, 16, 24, 7, 3, 1), 4, 3, true, rng);  // 6 + 1 channels
  CheckAgainstComposed(Shape(1, 3, 12, 12, 4, 1, 0), 3, 2, true, rng);  // one sample
  Conv2dShape wide = Shape(2, 2, 9, 30, 5, 3, 0);  // asymmetric padding, a 1x1 window
  wide.pad_left = 2, wide.pad_bottom = 1;
  CheckAgainstComposed(wide, 1, 1, true, rng);
}

TEST(Conv2dMaxPoolRelu, AppliesOnlyToTheDirectPathAndWholeWindows) {
  const Conv2dShape lenet1 = Shape(64, 1, 28, 28, 6, 5, 2);
  const Conv2dShape lenet2 = Shape(64, 6, 14, 14, 16, 5, 0);
  EXPECT_EQ((Conv2dMaxPoolReluApplies<float>(lenet1, 2, 2)), DirectConvApplies(lenet1));
  EXPECT_FALSE((Conv2dMaxPoolReluApplies<float>(lenet2, 2, 2)));  // im2col + Gemm
  EXPECT_FALSE((Conv2dMaxPoolReluApplies<double>(lenet1, 2, 2)));
  EXPECT_FALSE((Conv2dMaxPoolReluApplies<float>(lenet1, 3, 3)));  // 28 is not a multiple of 3
  EXPECT_FALSE((Conv2dMaxPoolReluApplies<float>(lenet1, 0, 2)));
}

}  // namespace
}  // namespace mt::kernels::cpu
