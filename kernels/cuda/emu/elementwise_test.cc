// Elementwise kernel bodies and launch plans, run by the emulator against kernels/reference.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/elementwise_body.h"
#include "kernels/cuda/emu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda::emu {
namespace {

namespace ref = ::mt::kernels::reference;

template <typename T>
class ElementwiseEmuTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ElementwiseEmuTest, Types);

TEST(StridedTest, DenseOperandsMergeIntoOneDim) {
  const int64_t shape[] = {3, 4, 5};
  const int64_t* none[2] = {nullptr, nullptr};
  const Strided<2> s = MakeStrided<2>(3, shape, none);
  EXPECT_EQ(s.ndim, 1);
  EXPECT_EQ(s.numel, 60);
  EXPECT_EQ(s.shape[0], 60);
  EXPECT_EQ(s.strides[0][0], 1);
}

TEST(StridedTest, BroadcastAndTransposeKeepTheirDims) {
  // a: (3, 4) transposed view of a (4, 3) buffer; b: a row broadcast over 3 rows.
  const int64_t shape[] = {3, 4};
  const int64_t a_strides[] = {1, 3}, b_strides[] = {0, 1};
  const int64_t* strides[2] = {a_strides, b_strides};
  const Strided<2> s = MakeStrided<2>(2, shape, strides);
  EXPECT_EQ(s.ndim, 2);
  int64_t off[2];
  StridedOffsets(s, 6, off);  // (1, 2)
  EXPECT_EQ(off[0], 1 + 2 * 3);
  EXPECT_EQ(off[1], 2);
}

TEST(StridedTest, SizeOneDimsVanishAndScalarsWork) {
  const int64_t shape[] = {1, 1};
  const int64_t st[] = {7, 9};
  const int64_t* strides[1] = {st};
  const Strided<1> s = MakeStrided<1>(2, shape, strides);
  EXPECT_EQ(s.ndim, 0);
  EXPECT_EQ(s.numel, 1);
  int64_t off[1];
  StridedOffsets(s, 0, off);
  EXPECT_EQ(off[0], 0);
}

TEST(StridedTest, TooManyUnmergeableDimsAreRefused) {
  std::vector<int64_t> shape(9, 2), st(9);
  for (int d = 0; d < 9; ++d) st[d] = int64_t{3} << (2 * (8 - d));  // never contiguous
  const int64_t* strides[1] = {st.data()};
  EXPECT_THROW(MakeStrided<1>(9, shape.data(), strides), std::invalid_argument);
}

TYPED_TEST(ElementwiseEmuTest, UnaryOnATransposedViewMatchesReference) {
  using T = TypeParam;
  std::mt19937_64 rng(1);
  const std::vector<int64_t> base = {7, 5, 11};  // buffer (7, 5, 11), viewed as (11, 7, 5)
  auto data = RandomVector<T>(Product(base), rng, 0.1, 3.0);
  const std::vector<int64_t> shape = {11, 7, 5}, strides = {1, 55, 11};
  for (UnaryOp op :
       {UnaryOp::kCopy, UnaryOp::kNeg, UnaryOp::kExp, UnaryOp::kLog, UnaryOp::kRelu,
        UnaryOp::kSigmoid, UnaryOp::kSoftplus, UnaryOp::kTanh, UnaryOp::kSqrt, UnaryOp::kAbs}) {
    // Signed inputs for the ops defined everywhere.
    std::vector<T> in = data;
    if (op != UnaryOp::kLog && op != UnaryOp::kSqrt) {
      for (auto& x : in) x = x - T(1.5);
    }
    std::vector<T> out(Product(shape));
    EmuExec ex;
    UnaryImpl(ex, op, 3, shape.data(), in.data(), strides.data(), out.data());
    std::vector<double> want;
    for (double x : ref::StridedGather(shape, in.data(), strides))
      want.push_back(ref::Unary(op, x));
    ExpectAllClose(out, want, 8 * Eps<T>(), 8 * Eps<T>(), "unary op " + std::to_string(int(op)));
  }
}

TYPED_TEST(ElementwiseEmuTest, UnaryKeepsNanThroughRelu) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> in = {nan, T(-1), T(2)}, out(3);
  const int64_t shape[] = {3};
  EmuExec ex;
  UnaryImpl(ex, UnaryOp::kRelu, 1, shape, in.data(), nullptr, out.data());
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], T(0));
  EXPECT_EQ(out[2], T(2));
}

TYPED_TEST(ElementwiseEmuTest, BinaryWithBroadcastingMatchesReference) {
  using T = TypeParam;
  std::mt19937_64 rng(2);
  const std::vector<int64_t> shape = {4, 6, 9};
  // a: dense; b: (6, 1) column broadcast over dims 0 and 2.
  auto a = RandomVector<T>(Product(shape), rng, 0.5, 2.0);
  auto b = RandomVector<T>(6, rng, 0.5, 2.0);
  b[2] = a[2 * 9];  // one exact tie for the comparisons
  const std::vector<int64_t> a_strides = ContiguousStrides(shape), b_strides = {0, 1, 0};
  for (BinaryOp op : {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv, BinaryOp::kLt,
                      BinaryOp::kEq, BinaryOp::kGt, BinaryOp::kMaximum, BinaryOp::kReluBackward,
                      BinaryOp::kPow}) {
    std::vector<T> out(Product(shape));
    EmuExec ex;
    BinaryImpl(ex, op, 3, shape.data(), a.data(), a_strides.data(), b.data(), b_strides.data(),
               out.data());
    std::vector<double> want(out.size());
    ref::ForEachStrided(shape, a_strides, b_strides, [&](int64_t i, int64_t oa, int64_t ob) {
      want[i] = ref::Binary(op, a[oa], b[ob]);
    });
    ExpectAllClose(out, want, 8 * Eps<T>(), 0, "binary op " + std::to_string(int(op)));
  }
}

TYPED_TEST(ElementwiseEmuTest, GridStrideLoopsCoverMoreElementsThanThreads) {
  using T = TypeParam;
  // 3 blocks of 32 threads over 1000 elements: every thread takes about 10.
  std::vector<T> out(1000, T(-1));
  EmuExec ex;
  ex.Launch(Grid{3, 1}, 32, 0, FillOpBody<T>{out.data(), 1000, T(4.5)});
  for (T v : out) ASSERT_EQ(v, T(4.5));
  const int64_t shape[] = {1000};
  std::vector<T> in(1000), copy(1000);
  for (int i = 0; i < 1000; ++i) in[i] = T(i);
  const int64_t* strides[1] = {nullptr};
  ex.Launch(
      Grid{2, 1}, 64, 0,
      UnaryOpBody<T>{MakeStrided<1>(1, shape, strides), UnaryOp::kNeg, in.data(), copy.data()});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(copy[i], T(-i));
}

TEST(ElementwiseEmuTest, FillEveryDType) {
  EmuExec ex;
  std::vector<float> f(300);
  std::vector<double> d(300);
  std::vector<int64_t> i(300);
  FillImpl(ex, f.data(), 300, 1.5f);
  FillImpl(ex, d.data(), 300, -2.25);
  FillImpl(ex, i.data(), 300, int64_t{7});
  for (int k = 0; k < 300; ++k) {
    ASSERT_EQ(f[k], 1.5f);
    ASSERT_EQ(d[k], -2.25);
    ASSERT_EQ(i[k], 7);
  }
  FillImpl(ex, f.data(), 0, 3.0f);
  EXPECT_EQ(ex.launches, 3) << "n == 0 must launch nothing";
}

TEST(ElementwiseEmuTest, StridedCopyOfEveryElementSize) {
  std::mt19937_64 rng(3);
  const std::vector<int64_t> shape = {5, 8};
  const std::vector<int64_t> strides = {1, 5};  // transposed (8, 5) buffer
  EmuExec ex;
  std::vector<int64_t> i64(40), o64(40);
  std::vector<float> f32(40), o32(40);
  std::vector<uint16_t> u16(40), o16(40);
  std::vector<uint8_t> u8(40), o8(40);
  for (int k = 0; k < 40; ++k) {
    i64[k] = RandomInt(rng, -1000, 1000);
    f32[k] = static_cast<float>(k) * 0.5f;
    u16[k] = static_cast<uint16_t>(k * 300);
    u8[k] = static_cast<uint8_t>(k * 7);
  }
  StridedCopyImpl(ex, 8, 2, shape.data(), i64.data(), strides.data(), o64.data());
  StridedCopyImpl(ex, 4, 2, shape.data(), f32.data(), strides.data(), o32.data());
  StridedCopyImpl(ex, 2, 2, shape.data(), u16.data(), strides.data(), o16.data());
  StridedCopyImpl(ex, 1, 2, shape.data(), u8.data(), strides.data(), o8.data());
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 8; ++c) {
      ASSERT_EQ(o64[r * 8 + c], i64[r + c * 5]);
      ASSERT_EQ(o32[r * 8 + c], f32[r + c * 5]);
      ASSERT_EQ(o16[r * 8 + c], u16[r + c * 5]);
      ASSERT_EQ(o8[r * 8 + c], u8[r + c * 5]);
    }
  }
  EXPECT_THROW(StridedCopyImpl(ex, 3, 2, shape.data(), u8.data(), strides.data(), o8.data()),
               std::invalid_argument);
}

TEST(ElementwiseEmuTest, CastGoesThroughDouble) {
  const std::vector<int64_t> shape = {2, 3};
  const std::vector<int64_t> strides = {1, 2};
  std::vector<int64_t> ids = {0, 1, (int64_t{1} << 53) + 1, -4, 5, 6};
  std::vector<float> f(6);
  std::vector<double> d(6);
  EmuExec ex;
  CastImpl(ex, 2, shape.data(), ids.data(), strides.data(), f.data());
  CastImpl(ex, 2, shape.data(), ids.data(), strides.data(), d.data());
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) {
      const int64_t v = ids[r + c * 2];
      EXPECT_EQ(f[r * 3 + c], static_cast<float>(static_cast<double>(v)));
      EXPECT_EQ(d[r * 3 + c], static_cast<double>(v));
    }
  }
  std::vector<double> x = {1.9, -2.7, 3.5};
  std::vector<int64_t> back(3);
  const int64_t n[] = {3};
  CastImpl(ex, 1, n, x.data(), nullptr, back.data());
  EXPECT_EQ(back, (std::vector<int64_t>{1, -2, 3}));
}

TYPED_TEST(ElementwiseEmuTest, CopyIntoSliceMatchesReference) {
  using T = TypeParam;
  std::mt19937_64 rng(4);
  const int64_t outer = 3, size = 7, inner = 5, start = 2, length = 4;
  auto dst = RandomVector<T>(outer * size * inner, rng);
  auto src = RandomVector<T>(outer * length * inner, rng);
  const auto want = ref::CopyIntoSlice(dst, src, outer, size, inner, start, length);
  EmuExec ex;
  CopyIntoSliceImpl(ex, sizeof(T), outer, size, inner, start, length, src.data(), dst.data());
  ExpectAllClose(dst, want, 0, 0, "copy into slice");
}

}  // namespace
}  // namespace mt::kernels::cuda::emu
