#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_direct.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
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
class ConvTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ConvTest, Types);

std::string Describe(const Conv2dShape& s) {
  auto str = [](int64_t v) { return std::to_string(v); };
  return "N=" + str(s.batch) + " C=" + str(s.in_channels) + " H=" + str(s.in_h) +
         " W=" + str(s.in_w) + " O=" + str(s.out_channels) + " k=" + str(s.kernel_h) + "x" +
         str(s.kernel_w) + " stride=" + str(s.stride_h) + "," + str(s.stride_w) +
         " pad(t,b,l,r)=" + str(s.pad_top) + "," + str(s.pad_bottom) + "," + str(s.pad_left) +
         "," + str(s.pad_right);
}

// |got - expected| <= c * eps * (terms + 2) * sum|term|, the bound of a dot product.
template <typename T>
void ExpectDotClose(const std::vector<T>& got, const std::vector<double>& expected,
                    const std::vector<double>& mag, int64_t terms, const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = 4 * (terms + 2) * Eps<T>() * mag[i] + 1e-30;
    if (!(std::abs(got[i] - expected[i]) <= tol) && ++failures <= 5) {
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected "
                    << expected[i];
    }
  }
}

template <typename T>
void CheckConv(const Conv2dShape& s, std::mt19937_64& rng, bool with_bias = true) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  ASSERT_GT(oh, 0);
  ASSERT_GT(ow, 0);
  const auto in = RandomVector<T>(s.batch * s.in_channels * s.in_h * s.in_w, rng);
  const auto w = RandomVector<T>(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w, rng);
  const auto bias = with_bias ? RandomVector<T>(s.out_channels, rng) : std::vector<T>();
  const auto g = RandomVector<T>(s.batch * s.out_channels * oh * ow, rng);
  const reference::Conv2dResult ref = reference::Conv2d(s, in, w, bias, g);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  // Outputs start as NaN: every kernel must overwrite all of its output.
  std::vector<T> out(ref.out.size(), nan), gi(in.size(), nan), gw(w.size(), nan),
      gb(s.out_channels, nan);
  Conv2dForward<T>(testing::Ctx(), s, in.data(), w.data(), with_bias ? bias.data() : nullptr,
                   out.data());
  Conv2dBackwardInput<T>(testing::Ctx(), s, g.data(), w.data(), gi.data());
  Conv2dBackwardWeight<T>(testing::Ctx(), s, g.data(), in.data(), gw.data(), gb.data());
  const std::string what = Describe(s);
  const int64_t taps = s.in_channels * s.kernel_h * s.kernel_w;
  ExpectDotClose(out, ref.out, ref.out_mag, taps, "forward " + what);
  ExpectDotClose(gi, ref.grad_input, ref.grad_input_mag, s.out_channels * s.kernel_h * s.kernel_w,
                 "backward input " + what);
  ExpectDotClose(gw, ref.grad_weight, ref.grad_weight_mag, s.batch * oh * ow,
                 "backward weight " + what);
  std::vector<double> gb_mag(s.out_channels, 0);
  for (int64_t i = 0; i < int64_t(g.size()); ++i) {
    gb_mag[(i / (oh * ow)) % s.out_channels] += std::abs(double(g[i]));
  }
  ExpectDotClose(gb, ref.grad_bias, gb_mag, s.batch * oh * ow, "backward bias " + what);
  // Without a bias pointer the weight gradient is the same.
  std::vector<T> gw2(w.size(), nan);
  Conv2dBackwardWeight<T>(testing::Ctx(), s, g.data(), in.data(), gw2.data(), nullptr);
  EXPECT_EQ(gw, gw2) << what;
  // Columns kept by the forward pass give the same output, and a weight gradient as close to the
  // reference when the backward pass reads them (one product over the whole batch, so summed in
  // another order) instead of the (here deliberately wiped) input; the same bits when run twice.
  // The direct float path keeps none (Conv2dKeptColumnsSize is 0): it reads the input.
  std::vector<T> columns(Conv2dKeptColumnsSize<T>(s), nan), out2(out.size(), nan), gw3(w.size(), nan),
      gb3(s.out_channels, nan);
  Conv2dForward<T>(testing::Ctx(), s, in.data(), w.data(), with_bias ? bias.data() : nullptr,
                   out2.data(), columns.empty() ? nullptr : columns.data());
  EXPECT_EQ(out, out2) << what;
  std::vector<T> wiped = in;
  if (!columns.empty()) std::fill(wiped.begin(), wiped.end(), nan);
  Conv2dBackwardWeight<T>(testing::Ctx(), s, g.data(), wiped.data(), gw3.data(), gb3.data(),
                          columns.empty() ? nullptr : columns.data());
  ExpectDotClose(gw3, ref.grad_weight, ref.grad_weight_mag, s.batch * oh * ow,
                 "backward weight from kept columns " + what);
  EXPECT_EQ(gb, gb3) << what;
  std::vector<T> gw4(w.size(), nan);
  Conv2dBackwardWeight<T>(testing::Ctx(), s, g.data(), wiped.data(), gw4.data(), nullptr,
                          columns.empty() ? nullptr : columns.data());
  EXPECT_EQ(gw3, gw4) << what;
}

Conv2dShape RandomShape(std::mt19937_64& rng) {
  for (;;) {
    Conv2dShape s;
    s.batch = RandomInt(rng, 1, 3);
    s.in_channels = RandomInt(rng, 1, 4);
    s.out_channels = RandomInt(rng, 1, 5);
    s.in_h = RandomInt(rng, 1, 9);
    s.in_w = RandomInt(rng, 1, 11);
    s.kernel_h = RandomInt(rng, 1, 5);
    s.kernel_w = RandomInt(rng, 1, 5);
    s.stride_h = RandomInt(rng, 1, 3);
    s.stride_w = RandomInt(rng, 1, 3);
    s.pad_top = RandomInt(rng, 0, 3);
    s.pad_bottom = RandomInt(rng, 0, 3);
    s.pad_left = RandomInt(rng, 0, 3);
    s.pad_right = RandomInt(rng, 0, 3);
    if (s.out_h() > 0 && s.out_w() > 0) return s;
  }
}

TYPED_TEST(ConvTest, RandomShapesMatchReference) {
  using T = TypeParam;
  std::mt19937_64 rng(40);
  for (int trial = 0; trial < 150; ++trial) CheckConv<T>(RandomShape(rng), rng, trial % 4 != 0);
}

TYPED_TEST(ConvTest, SpecialShapesMatchReference) {
  using T = TypeParam;
  std::mt19937_64 rng(41);
  std::vector<Conv2dShape> shapes;
  auto add = [&](int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                 int64_t sh, int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr) {
    Conv2dShape s;
    s.batch = n, s.in_channels = c, s.in_h = h, s.in_w = w, s.out_channels = o;
    s.kernel_h = kh, s.kernel_w = kw, s.stride_h = sh, s.stride_w = sw;
    s.pad_top = pt, s.pad_bottom = pb, s.pad_left = pl, s.pad_right = pr;
    shapes.push_back(s);
  };
  add(2, 3, 6, 7, 4, 1, 1, 1, 1, 0, 0, 0, 0);  // 1x1: the input is its own column matrix.
  add(2, 3, 6, 7, 4, 1, 1, 2, 2, 0, 0, 0, 0);  // 1x1 strided.
  add(2, 3, 6, 7, 4, 1, 1, 1, 1, 1, 0, 0, 2);  // 1x1 padded.
  add(1, 2, 3, 3, 2, 5, 6, 1, 1, 2, 2, 3, 2);  // Kernel larger than the input.
  add(3, 2, 1, 20, 3, 1, 4, 1, 1, 0, 0, 0, 3);  // conv1d, MiniTorch "same" anchoring.
  add(2, 1, 1, 9, 2, 1, 3, 1, 2, 0, 0, 1, 1);   // conv1d strided.
  add(3, 2, 5, 5, 2, 3, 3, 1, 1, 0, 2, 0, 2);   // 2-D, MiniTorch "same" anchoring.
  // Enough work for the threads: batch split over threads, per-thread weight partial sums.
  add(6, 8, 14, 14, 12, 3, 3, 1, 1, 1, 1, 1, 1);
  add(5, 4, 12, 13, 6, 5, 5, 2, 1, 2, 1, 0, 3);
  add(1, 8, 20, 20, 16, 3, 3, 1, 1, 1, 1, 1, 1);  // batch 1: Gemm threads instead.
  // Unpadded stride-1 rows of 32-64 bytes (im2col/col2im's whole-row path): LeNet-5's conv2,
  // 16-, 8- and (double only) 4-wide rows, a non-square kernel.
  add(3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0);
  add(2, 3, 20, 20, 4, 5, 5, 1, 1, 0, 0, 0, 0);
  add(2, 2, 10, 12, 3, 3, 5, 1, 1, 0, 0, 0, 0);
  add(2, 2, 7, 6, 3, 2, 3, 1, 1, 0, 0, 0, 0);
  // col2im's register rows (float): input rows of 8, 28 (4 registers) and 24 pixels, the last
  // with 17 taps, more than it takes (the loop instead).
  add(2, 2, 4, 8, 3, 2, 1, 1, 1, 0, 0, 0, 0);
  add(2, 2, 6, 28, 3, 3, 13, 1, 1, 0, 0, 0, 0);
  add(1, 1, 3, 24, 2, 1, 17, 1, 1, 0, 0, 0, 0);
  // Fewer samples than threads, one long output row: pieces of the row per thread (forward
  // without kept columns), channel ranges per thread (im2col, col2im). Unpadded like Kim CNN's
  // sequence, padded wide, strided, a 2-D kernel as tall as its input, several pieces each.
  add(1, 16, 1, 700, 10, 1, 4, 1, 1, 0, 0, 0, 0);
  add(1, 8, 1, 500, 7, 1, 5, 1, 1, 0, 0, 4, 4);
  add(1, 6, 1, 601, 4, 1, 3, 1, 2, 0, 0, 1, 2);
  add(1, 4, 3, 200, 5, 3, 3, 1, 1, 0, 0, 1, 1);
  add(1, 128, 1, 1500, 6, 1, 4, 1, 1, 0, 0, 0, 0);
  // Few channels, stride 1, wide: the direct kernels (conv_direct.h) for float. LeNet-5's and
  // MiniTorch's first layers, every output-channel block size (1-6, and 7 = 6 + 1), ragged
  // 16-column blocks, odd and even kernel widths, asymmetric padding, a conv1d.
  add(4, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2);
  add(3, 1, 28, 28, 4, 3, 3, 1, 1, 0, 2, 0, 2);
  add(2, 4, 28, 28, 8, 3, 3, 1, 1, 0, 2, 0, 2);
  for (int64_t o = 1; o <= 7; ++o) add(2, 2, 5, 13 + o, o, 2, 1 + o % 4, 1, 1, 1, 0, o % 3, 1);
  add(3, 3, 1, 40, 5, 1, 4, 1, 1, 0, 0, 3, 3);
  add(2, 64, 2, 20, 3, 1, 1, 1, 1, 0, 0, 1, 0);  // 64 taps: the most the direct path takes
  // The input gradient's direct path (a forward conv of the padded grad_out): LeNet-5's conv2
  // above; every input-channel block (1-7 channels, 7 = 6 + 1), asymmetric padding up to
  // kernel - 1 and none, ragged 16-column blocks, outputs narrower than one block, a conv1d,
  // 18 input channels (the most it takes) and 19 (Gemm + col2im again).
  for (int64_t c = 1; c <= 7; ++c) add(2, c, 6, 11 + c, 3 + c % 3, 3, 1 + c % 5, 1, 1,
                                     c % 3, 2, c % 2 % (1 + c % 5), c % 4 % (1 + c % 5));
  add(2, 16, 10, 12, 5, 5, 5, 1, 1, 4, 0, 0, 4);
  add(2, 5, 1, 30, 9, 1, 5, 1, 1, 0, 0, 4, 2);
  add(2, 18, 4, 14, 4, 3, 3, 1, 1, 1, 1, 1, 1);
  add(2, 19, 4, 14, 4, 3, 3, 1, 1, 1, 1, 1, 1);
  for (const Conv2dShape& s : shapes) CheckConv<T>(s, rng);
}

TYPED_TEST(ConvTest, WeightGradientBitsFollowSplitsNotThreads) {
  // The engine lowers Context::threads on a busy machine but keeps Context::splits: the
  // weight gradient's per-part sums must then give the same bits on one thread as on two.
  using T = TypeParam;
  std::mt19937_64 rng(42);
  Conv2dShape s;
  s.batch = 6, s.in_channels = 8, s.in_h = s.in_w = 14, s.out_channels = 12;
  s.kernel_h = s.kernel_w = 3;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  Conv2dShape direct = s;  // few channels: the direct float kernels
  direct.in_channels = 1, direct.in_h = direct.in_w = 28, direct.kernel_h = direct.kernel_w = 5;
  direct.pad_top = direct.pad_bottom = direct.pad_left = direct.pad_right = 2;
  for (const Conv2dShape& shape : {s, direct}) {
    const auto in = RandomVector<T>(shape.batch * shape.in_channels * shape.in_h * shape.in_w, rng);
    const auto g = RandomVector<T>(shape.batch * shape.out_channels * shape.out_h() * shape.out_w(), rng);
    const size_t w_size = shape.out_channels * shape.in_channels * shape.kernel_h * shape.kernel_w;
    std::vector<std::vector<T>> gw;
    for (const auto& [threads, splits] : {std::pair{2, 2}, std::pair{1, 2}, std::pair{1, 3},
                                          std::pair{2, 3}}) {
      Context ctx{threads};
      ctx.splits = splits;
      gw.emplace_back(w_size);
      Conv2dBackwardWeight<T>(ctx, shape, g.data(), in.data(), gw.back().data(), nullptr);
    }
    EXPECT_EQ(gw[0], gw[1]) << Describe(shape);
    EXPECT_EQ(gw[2], gw[3]) << Describe(shape);
  }
}

TYPED_TEST(ConvTest, InputGradientBitsDoNotDependOnThreads) {
  // One thread makes the input gradient's columns a few samples at a time (they fit in L2),
  // several threads the whole batch's at once: every column is the same dot product either
  // way. LeNet-5's conv2 at batch 32 spans several groups, the last one short.
  using T = TypeParam;
  std::mt19937_64 rng(43);
  Conv2dShape s;
  s.batch = 37, s.in_channels = 6, s.in_h = s.in_w = 14, s.out_channels = 16;
  s.kernel_h = s.kernel_w = 5;
  const auto w = RandomVector<T>(s.out_channels * s.in_channels * 25, rng);
  const auto g = RandomVector<T>(s.batch * s.out_channels * s.out_h() * s.out_w(), rng);
  std::vector<T> one(s.batch * s.in_channels * 196), two(one.size());
  Conv2dBackwardInput<T>(Context{1}, s, g.data(), w.data(), one.data());
  Conv2dBackwardInput<T>(Context{2}, s, g.data(), w.data(), two.data());
  EXPECT_EQ(one, two);
  const std::vector<T> in(one.size(), T(0));
  const reference::Conv2dResult ref = reference::Conv2d(s, in, w, {}, g);
  ExpectDotClose(one, ref.grad_input, ref.grad_input_mag, s.out_channels * 25, "backward input");
}

TYPED_TEST(ConvTest, NoInputChannelsOnOneThread) {
  // No columns at all (C = 0): the one-thread grouping must not divide by their size.
  using T = TypeParam;
  Conv2dShape s;
  s.batch = 2, s.in_channels = 0, s.in_h = s.in_w = 6, s.out_channels = 3;
  s.kernel_h = s.kernel_w = 3;
  const std::vector<T> g(s.batch * s.out_channels * s.out_h() * s.out_w(), T(1));
  std::vector<T> gi(1, T(7));  // no elements of grad_input exist; the sentinel must survive
  Conv2dBackwardInput<T>(Context{1}, s, g.data(), gi.data(), gi.data());
  EXPECT_EQ(gi[0], T(7));
}

TYPED_TEST(ConvTest, DirectPathChoice) {
  // The direct kernels take few-channel stride-1 wide convs only (and only where AVX2 was
  // compiled in); the shapes above must reach both paths.
  Conv2dShape lenet1;
  lenet1.batch = 64, lenet1.in_channels = 1, lenet1.in_h = lenet1.in_w = 28;
  lenet1.out_channels = 6, lenet1.kernel_h = lenet1.kernel_w = 5;
  lenet1.pad_top = lenet1.pad_bottom = lenet1.pad_left = lenet1.pad_right = 2;
  Conv2dShape lenet2 = lenet1;
  lenet2.in_channels = 6, lenet2.in_h = lenet2.in_w = 14, lenet2.out_channels = 16;
  lenet2.pad_top = lenet2.pad_bottom = lenet2.pad_left = lenet2.pad_right = 0;
  Conv2dShape strided = lenet1;
  strided.stride_w = 2;
#if defined(__AVX2__) && defined(__FMA__)
  EXPECT_TRUE(DirectConvApplies(lenet1));
  EXPECT_EQ(Conv2dKeptColumnsSize<float>(lenet1), 0);  // nothing to keep on the direct path
#endif
  EXPECT_EQ(Conv2dKeptColumnsSize<double>(lenet1), lenet1.columns_size());
  EXPECT_EQ(Conv2dKeptColumnsSize<float>(lenet2), lenet2.columns_size());
  EXPECT_FALSE(DirectConvApplies(lenet2));  // 150 taps, 10 columns: im2col + Gemm
  EXPECT_FALSE(DirectConvApplies(strided));
  // The input gradient: LeNet-5's conv2 (6 input channels, 400 taps of grad_out) takes the
  // direct path; strides, paddings past kernel - 1, inputs narrower than 12 and many input
  // channels (Kim CNN's embeddings) do not.
  Conv2dShape wide_pad = lenet1;
  wide_pad.pad_left = 5;
  Conv2dShape narrow = lenet2;
  narrow.in_w = 11;
  Conv2dShape kim;
  kim.batch = 50, kim.in_channels = 128, kim.in_h = 1, kim.in_w = 40, kim.out_channels = 100;
  kim.kernel_h = 1, kim.kernel_w = 4, kim.pad_left = kim.pad_right = 3;
#if defined(__AVX2__) && defined(__FMA__)
  EXPECT_TRUE(DirectConvBackwardInputApplies(lenet2));
  EXPECT_TRUE(DirectConvBackwardInputApplies(lenet1));
#endif
  EXPECT_FALSE(DirectConvBackwardInputApplies(strided));
  EXPECT_FALSE(DirectConvBackwardInputApplies(wide_pad));
  EXPECT_FALSE(DirectConvBackwardInputApplies(narrow));
  EXPECT_FALSE(DirectConvBackwardInputApplies(kim));
}

TYPED_TEST(ConvTest, Conv1dExactValues) {
  using T = TypeParam;
  // in = [0 1 2 3], w = [1 2 3], padding left 0 right 2, stride 1:
  //   out[x] = in[x] + 2 in[x+1] + 3 in[x+2] = [8 14 8 3].
  Conv2dShape s;
  s.batch = 1, s.in_channels = 1, s.in_h = 1, s.in_w = 4;
  s.out_channels = 1, s.kernel_h = 1, s.kernel_w = 3;
  s.pad_left = 0, s.pad_right = 2;
  ASSERT_EQ(s.out_h(), 1);
  ASSERT_EQ(s.out_w(), 4);
  const std::vector<T> in = {0, 1, 2, 3}, w = {1, 2, 3};
  std::vector<T> out(4);
  Conv2dForward<T>(testing::Ctx(), s, in.data(), w.data(), nullptr, out.data());
  EXPECT_EQ(out, (std::vector<T>{8, 14, 8, 3}));

  // With grad_out = 1 everywhere: grad_in[k] = sum of w[j] over taps landing on k,
  // grad_w[j] = sum_x in[x + j], grad_b = number of outputs.
  const std::vector<T> g = {1, 1, 1, 1};
  std::vector<T> gi(4), gw(3), gb(1);
  Conv2dBackwardInput<T>(testing::Ctx(), s, g.data(), w.data(), gi.data());
  Conv2dBackwardWeight<T>(testing::Ctx(), s, g.data(), in.data(), gw.data(), gb.data());
  EXPECT_EQ(gi, (std::vector<T>{1, 3, 6, 6}));
  EXPECT_EQ(gw, (std::vector<T>{6, 6, 5}));
  EXPECT_EQ(gb, (std::vector<T>{4}));

  // Two identical input channels with identical weights: every output doubles.
  s.in_channels = 2;
  const std::vector<T> in2 = {0, 1, 2, 3, 0, 1, 2, 3}, w2 = {1, 2, 3, 1, 2, 3};
  Conv2dForward<T>(testing::Ctx(), s, in2.data(), w2.data(), nullptr, out.data());
  EXPECT_EQ(out, (std::vector<T>{16, 28, 16, 6}));
  // And a bias adds on top.
  const std::vector<T> bias = {T(0.5)};
  Conv2dForward<T>(testing::Ctx(), s, in2.data(), w2.data(), bias.data(), out.data());
  EXPECT_EQ(out, (std::vector<T>{16.5, 28.5, 16.5, 6.5}));
}

TYPED_TEST(ConvTest, Conv2dExactValues) {
  using T = TypeParam;
  // 3x3 input 1..9, 2x2 kernel of ones, stride 2, padding 1 on all sides -> 2x2 output of
  // corner sums: [[1, 2+3], [4+7, 5+6+8+9]].
  Conv2dShape s;
  s.batch = 1, s.in_channels = 1, s.in_h = 3, s.in_w = 3;
  s.out_channels = 1, s.kernel_h = 2, s.kernel_w = 2, s.stride_h = 2, s.stride_w = 2;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  const std::vector<T> in = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w = {1, 1, 1, 1};
  std::vector<T> out(4);
  Conv2dForward<T>(testing::Ctx(), s, in.data(), w.data(), nullptr, out.data());
  EXPECT_EQ(out, (std::vector<T>{1, 5, 11, 28}));
}

TYPED_TEST(ConvTest, BackwardWeightIsDeterministic) {
  using T = TypeParam;
  std::mt19937_64 rng(42);
  Conv2dShape s;
  s.batch = 7, s.in_channels = 5, s.in_h = 11, s.in_w = 12;
  s.out_channels = 6, s.kernel_h = 3, s.kernel_w = 3, s.pad_top = 1, s.pad_left = 1;
  const auto in = RandomVector<T>(s.batch * s.in_channels * s.in_h * s.in_w, rng);
  const auto g = RandomVector<T>(s.batch * s.out_channels * s.out_h() * s.out_w(), rng);
  const int64_t w_size = s.out_channels * s.in_channels * s.kernel_h * s.kernel_w;
  std::vector<T> gw1(w_size), gw2(w_size), gb1(s.out_channels), gb2(s.out_channels);
  Conv2dBackwardWeight<T>(testing::Ctx(), s, g.data(), in.data(), gw1.data(), gb1.data());
  Conv2dBackwardWeight<T>(testing::Ctx(), s, g.data(), in.data(), gw2.data(), gb2.data());
  EXPECT_EQ(gw1, gw2);
  EXPECT_EQ(gb1, gb2);
}

TYPED_TEST(ConvTest, EmptyOutputZeroesGradients) {
  using T = TypeParam;
  // A kernel wider than the padded input leaves no output positions.
  Conv2dShape s;
  s.batch = 2, s.in_channels = 2, s.in_h = 3, s.in_w = 3;
  s.out_channels = 2, s.kernel_h = 2, s.kernel_w = 5;
  ASSERT_LE(s.out_w(), 0);
  const std::vector<T> in(36, T(1)), w(40, T(1));
  std::vector<T> gi(36, T(7)), gw(40, T(7)), gb(2, T(7));
  Conv2dForward<T>(testing::Ctx(), s, in.data(), w.data(), nullptr, static_cast<T*>(nullptr));
  Conv2dBackwardInput<T>(testing::Ctx(), s, static_cast<const T*>(nullptr), w.data(), gi.data());
  Conv2dBackwardWeight<T>(testing::Ctx(), s, static_cast<const T*>(nullptr), in.data(), gw.data(),
                          gb.data());
  for (T v : gi) EXPECT_EQ(v, T(0));
  for (T v : gw) EXPECT_EQ(v, T(0));
  for (T v : gb) EXPECT_EQ(v, T(0));
}

}  // namespace
}  // namespace mt::kernels::cpu
