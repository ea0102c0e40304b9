#include "kernels/cpu/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cpu {
namespace {

using testing::Eps;
using testing::ExpectAllClose;
using testing::Product;
using testing::RandomInt;
using testing::ShapeString;

// A strided view over its own storage: strides may be permuted, doubled (every other element),
// zero (broadcast) or arbitrary on size-1 dims, as the engine's views produce them.
template <typename T>
struct View {
  std::vector<T> storage;
  std::vector<int64_t> strides;

  // Element at multi-index idx.
  T At(const std::vector<int64_t>& idx) const {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * strides[d];
    return storage[off];
  }
};

template <typename T>
View<T> RandomView(const std::vector<int64_t>& shape, std::mt19937_64& rng, double lo, double hi,
                   bool integers = false) {
  const int nd = static_cast<int>(shape.size());
  // Lay the dims out in storage in a random order, then maybe step by 2 and broadcast some.
  std::vector<int> order(nd);
  std::iota(order.begin(), order.end(), 0);
  if (RandomInt(rng, 0, 2) > 0) std::shuffle(order.begin(), order.end(), rng);
  const int64_t step = RandomInt(rng, 0, 3) == 0 ? 2 : 1;
  View<T> v;
  v.strides.assign(nd, 0);
  int64_t s = step;
  for (int q = nd - 1; q >= 0; --q) {
    v.strides[order[q]] = s;
    s *= std::max<int64_t>(shape[order[q]], 1);
  }
  for (int d = 0; d < nd; ++d) {
    if (RandomInt(rng, 0, 4) == 0) v.strides[d] = 0;              // broadcast
    if (shape[d] == 1 && RandomInt(rng, 0, 1)) v.strides[d] = 977;  // never stepped on
  }
  int64_t size = 1;
  for (int d = 0; d < nd; ++d) {
    if (shape[d] > 0) size += (shape[d] - 1) * v.strides[d];
  }
  v.storage = testing::RandomVector<T>(size, rng, lo, hi);
  if (integers) {
    for (auto& x : v.storage) x = std::round(x);
  }
  return v;
}

std::vector<int64_t> RandomShape(std::mt19937_64& rng) {
  const int nd = static_cast<int>(RandomInt(rng, 0, 5));
  std::vector<int64_t> shape(nd);
  for (auto& d : shape) d = RandomInt(rng, 1, 7);
  return shape;
}

// Calls f(flat_index, multi_index) over shape in row-major order.
template <typename F>
void ForEachIndex(const std::vector<int64_t>& shape, F f) {
  const int64_t n = Product(shape);
  std::vector<int64_t> idx(shape.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = i;
    for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
      idx[d] = r % shape[d];
      r /= shape[d];
    }
    f(i, idx);
  }
}

const UnaryOp kUnaryOps[] = {UnaryOp::kCopy,    UnaryOp::kNeg,      UnaryOp::kExp,
                             UnaryOp::kLog,     UnaryOp::kRelu,     UnaryOp::kSigmoid,
                             UnaryOp::kSoftplus, UnaryOp::kTanh,    UnaryOp::kSqrt,
                             UnaryOp::kAbs};
const BinaryOp kBinaryOps[] = {BinaryOp::kAdd, BinaryOp::kSub,     BinaryOp::kMul,
                               BinaryOp::kDiv, BinaryOp::kLt,      BinaryOp::kEq,
                               BinaryOp::kGt,  BinaryOp::kMaximum, BinaryOp::kReluBackward,
                               BinaryOp::kPow};

template <typename T>
class ElementwiseTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ElementwiseTest, Types);

template <typename T>
void CheckUnary(UnaryOp op, const std::vector<int64_t>& shape, std::mt19937_64& rng) {
  const bool positive = op == UnaryOp::kLog || op == UnaryOp::kSqrt;
  const View<T> in = RandomView<T>(shape, rng, positive ? 0.01 : -4.0, 4.0);
  const int64_t n = Product(shape);
  std::vector<T> out(n, std::numeric_limits<T>::quiet_NaN());
  Unary<T>(testing::Ctx(), op, static_cast<int>(shape.size()), shape.data(), in.storage.data(),
           in.strides.data(), out.data());
  std::vector<double> ref(n);
  ForEachIndex(shape, [&](int64_t i, const std::vector<int64_t>& idx) {
    ref[i] = reference::Unary(op, in.At(idx));
  });
  ExpectAllClose(out, ref, 8 * Eps<T>(), 8 * Eps<T>(),
                 "unary op " + std::to_string(static_cast<int>(op)) + " shape " +
                     ShapeString(shape) + " strides " + ShapeString(in.strides));
}

template <typename T>
void CheckBinary(BinaryOp op, const std::vector<int64_t>& shape, std::mt19937_64& rng) {
  // Small integers make ties, so kEq / kLt / kMaximum see equal operands.
  const bool compare = op == BinaryOp::kLt || op == BinaryOp::kEq || op == BinaryOp::kGt ||
                       op == BinaryOp::kMaximum || op == BinaryOp::kReluBackward;
  const bool positive = op == BinaryOp::kPow || op == BinaryOp::kDiv;
  const View<T> a = RandomView<T>(shape, rng, positive ? 0.1 : -3.0, 3.0, compare);
  const View<T> b = RandomView<T>(shape, rng, positive ? 0.5 : -3.0, 3.0, compare);
  const int64_t n = Product(shape);
  std::vector<T> out(n, std::numeric_limits<T>::quiet_NaN());
  Binary<T>(testing::Ctx(), op, static_cast<int>(shape.size()), shape.data(), a.storage.data(),
            a.strides.data(), b.storage.data(), b.strides.data(), out.data());
  std::vector<double> ref(n);
  ForEachIndex(shape, [&](int64_t i, const std::vector<int64_t>& idx) {
    ref[i] = reference::Binary(op, a.At(idx), b.At(idx));
  });
  ExpectAllClose(out, ref, 8 * Eps<T>(), 8 * Eps<T>(),
                 "binary op " + std::to_string(static_cast<int>(op)) + " shape " +
                     ShapeString(shape) + " strides " + ShapeString(a.strides) + " / " +
                     ShapeString(b.strides));
}

TYPED_TEST(ElementwiseTest, UnaryMatchesReferenceOnRandomStridedViews) {
  using T = TypeParam;
  std::mt19937_64 rng(1);
  for (UnaryOp op : kUnaryOps) {
    for (int trial = 0; trial < 40; ++trial) CheckUnary<T>(op, RandomShape(rng), rng);
  }
}

TYPED_TEST(ElementwiseTest, BinaryMatchesReferenceOnRandomStridedViews) {
  using T = TypeParam;
  std::mt19937_64 rng(2);
  for (BinaryOp op : kBinaryOps) {
    for (int trial = 0; trial < 40; ++trial) CheckBinary<T>(op, RandomShape(rng), rng);
  }
}

// Big enough to take the multi-threaded path, with long and short rows.
TYPED_TEST(ElementwiseTest, LargeTensorsMatchReference) {
  using T = TypeParam;
  std::mt19937_64 rng(3);
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{300, 257}, std::vector<int64_t>{70000}, {5, 4, 3, 1200}}) {
    CheckUnary<T>(UnaryOp::kExp, shape, rng);
    CheckUnary<T>(UnaryOp::kNeg, shape, rng);
    CheckBinary<T>(BinaryOp::kMul, shape, rng);
    CheckBinary<T>(BinaryOp::kSub, shape, rng);
  }
}

// Transposed matrices (batched, ragged against the copy tiles, on padded storage) as
// Contiguous() of a permuted tensor produces them.
TYPED_TEST(ElementwiseTest, TransposedViewsMatchReference) {
  using T = TypeParam;
  std::mt19937_64 rng(5);
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{70, 45}, std::vector<int64_t>{3, 33, 97}, {2, 2, 64, 40}}) {
    const int nd = static_cast<int>(shape.size());
    for (int64_t pad : {0, 3}) {
      // Storage holds the (..., cols, rows + pad) matrix; the view swaps the last two dims.
      std::vector<int64_t> strides(nd);
      const int64_t rows = shape[nd - 2], cols = shape[nd - 1];
      strides[nd - 2] = 1;
      strides[nd - 1] = rows + pad;
      int64_t s = cols * (rows + pad);
      for (int d = nd - 3; d >= 0; --d) {
        strides[d] = s;
        s *= shape[d];
      }
      const auto storage = testing::RandomVector<T>(s, rng, -2, 2);
      const int64_t n = Product(shape);
      std::vector<T> copied(n), exp_out(n);
      StridedCopy(testing::Ctx(), sizeof(T), nd, shape.data(), storage.data(), strides.data(),
                  copied.data());
      Unary<T>(testing::Ctx(), UnaryOp::kExp, nd, shape.data(), storage.data(), strides.data(),
               exp_out.data());
      std::vector<double> ref(n), exp_ref(n);
      ForEachIndex(shape, [&](int64_t i, const std::vector<int64_t>& idx) {
        int64_t off = 0;
        for (int d = 0; d < nd; ++d) off += idx[d] * strides[d];
        ref[i] = storage[off];
        exp_ref[i] = std::exp(double(storage[off]));
      });
      ExpectAllClose(copied, ref, 0, 0, "copy " + ShapeString(shape));
      ExpectAllClose(exp_out, exp_ref, 8 * Eps<T>(), 0, "exp " + ShapeString(shape));
    }
  }
}

TYPED_TEST(ElementwiseTest, BroadcastRowAndColumn) {
  using T = TypeParam;
  // a: (3, 1) expanded to (3, 4); b: (4) expanded to (3, 4).
  const std::vector<int64_t> shape = {3, 4};
  const std::vector<T> a = {1, 2, 3};
  const std::vector<T> b = {10, 20, 30, 40};
  const int64_t a_strides[] = {1, 0}, b_strides[] = {0, 1};
  std::vector<T> out(12);
  Binary<T>(testing::Ctx(), BinaryOp::kAdd, 2, shape.data(), a.data(), a_strides, b.data(),
            b_strides, out.data());
  const std::vector<T> expected = {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43};
  EXPECT_EQ(out, expected);
}

TYPED_TEST(ElementwiseTest, ScalarAndZeroSize) {
  using T = TypeParam;
  const T x = 2;
  T y = 0;
  Unary<T>(testing::Ctx(), UnaryOp::kNeg, 0, nullptr, &x, nullptr, &y);
  EXPECT_EQ(y, T(-2));
  Binary<T>(testing::Ctx(), BinaryOp::kMul, 0, nullptr, &x, nullptr, &x, nullptr, &y);
  EXPECT_EQ(y, T(4));
  // Nothing may be read or written when a dim is 0.
  const int64_t shape[] = {3, 0, 2};
  const int64_t strides[] = {0, 0, 1};
  T sentinel = 123;
  Unary<T>(testing::Ctx(), UnaryOp::kExp, 3, shape, static_cast<const T*>(nullptr), strides,
           &sentinel);
  Binary<T>(testing::Ctx(), BinaryOp::kAdd, 3, shape, static_cast<const T*>(nullptr), strides,
            static_cast<const T*>(nullptr), strides, &sentinel);
  EXPECT_EQ(sentinel, T(123));
}

TYPED_TEST(ElementwiseTest, SigmoidAndSoftplusAreStableForHugeInputs) {
  using T = TypeParam;
  const std::vector<T> x = {T(-1e4), T(-1e3), T(-100), T(-20), T(0), T(20), T(100), T(1e3),
                            T(1e4)};
  const int64_t shape[] = {static_cast<int64_t>(x.size())};
  const int64_t strides[] = {1};
  std::vector<T> sig(x.size()), sp(x.size());
  Unary<T>(testing::Ctx(), UnaryOp::kSigmoid, 1, shape, x.data(), strides, sig.data());
  Unary<T>(testing::Ctx(), UnaryOp::kSoftplus, 1, shape, x.data(), strides, sp.data());
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_TRUE(std::isfinite(sig[i])) << x[i];
    ASSERT_TRUE(std::isfinite(sp[i])) << x[i];
  }
  EXPECT_EQ(sig[0], T(0));
  EXPECT_EQ(sig[4], T(0.5));
  EXPECT_EQ(sig[8], T(1));
  EXPECT_NEAR(sig[3], 2.0611536181902033e-09, 1e-6 * 2.06e-9);  // Not flushed to 0.
  EXPECT_EQ(sp[0], T(0));
  EXPECT_NEAR(sp[3], 2.061153620314381e-09, 1e-6 * 2.06e-9);   // log1p, not log(1 + tiny).
  EXPECT_NEAR(sp[4], std::log(2.0), 2 * Eps<T>());
  EXPECT_EQ(sp[7], T(1e3));
  EXPECT_EQ(sp[8], T(1e4));
}

TYPED_TEST(ElementwiseTest, NanPropagatesThroughReluAndMaximum) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const std::vector<T> a = {nan, 1, nan, -1};
  const std::vector<T> b = {1, nan, nan, -2};
  const int64_t shape[] = {4};
  const int64_t strides[] = {1};
  std::vector<T> out(4);
  Binary<T>(testing::Ctx(), BinaryOp::kMaximum, 1, shape, a.data(), strides, b.data(), strides,
            out.data());
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_TRUE(std::isnan(out[1]));
  EXPECT_TRUE(std::isnan(out[2]));
  EXPECT_EQ(out[3], T(-1));
  Unary<T>(testing::Ctx(), UnaryOp::kRelu, 1, shape, a.data(), strides, out.data());
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], T(1));
  EXPECT_EQ(out[3], T(0));
}

TYPED_TEST(ElementwiseTest, FillAndAxpy) {
  using T = TypeParam;
  for (int64_t n : {0, 1, 17, 100000}) {
    std::vector<T> y(n + 1, T(7));
    Fill<T>(testing::Ctx(), y.data(), n, T(3));
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], T(3)) << i;
    EXPECT_EQ(y[n], T(7));  // One past the end is untouched.
    std::vector<T> x(n + 1);
    for (int64_t i = 0; i <= n; ++i) x[i] = static_cast<T>(i % 13);
    Axpy<T>(testing::Ctx(), n, T(0.5), x.data(), y.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], T(3) + T(0.5) * x[i]) << i;
    EXPECT_EQ(y[n], T(7));
  }
}

template <typename U>
void CheckStridedCopy(std::mt19937_64& rng) {
  for (int trial = 0; trial < 60; ++trial) {
    std::vector<int64_t> shape = RandomShape(rng);
    if (trial == 0) shape = {200, 3, 170};  // Multi-threaded path.
    const View<double> src = RandomView<double>(shape, rng, -1000, 1000);
    std::vector<U> storage(src.storage.size());
    for (size_t i = 0; i < storage.size(); ++i) storage[i] = static_cast<U>(src.storage[i]);
    const int64_t n = Product(shape);
    std::vector<U> out(n + 1, U(99));
    StridedCopy(testing::Ctx(), sizeof(U), static_cast<int>(shape.size()), shape.data(),
                storage.data(), src.strides.data(), out.data());
    int failures = 0;
    ForEachIndex(shape, [&](int64_t i, const std::vector<int64_t>& idx) {
      if (out[i] != static_cast<U>(src.At(idx)) && ++failures < 5) {
        ADD_FAILURE() << "shape " << ShapeString(shape) << " strides "
                      << ShapeString(src.strides) << " element " << i;
      }
    });
    EXPECT_EQ(out[n], U(99));
  }
}

TEST(StridedCopyTest, AllElementSizes) {
  std::mt19937_64 rng(4);
  CheckStridedCopy<float>(rng);
  CheckStridedCopy<double>(rng);
  CheckStridedCopy<int64_t>(rng);
  CheckStridedCopy<int32_t>(rng);
}

TEST(StridedCopyTest, TransposeExact) {
  // (2, 3) row-major, read as its (3, 2) transpose.
  const std::vector<int64_t> in = {1, 2, 3, 4, 5, 6};
  const int64_t shape[] = {3, 2};
  const int64_t strides[] = {1, 3};
  std::vector<int64_t> out(6);
  StridedCopy(testing::Ctx(), sizeof(int64_t), 2, shape, in.data(), strides, out.data());
  EXPECT_EQ(out, (std::vector<int64_t>{1, 4, 2, 5, 3, 6}));
}

TEST(CastTest, ConvertsThroughDoubleFromAStridedView) {
  // (2, 3) read as its (3, 2) transpose.
  const int64_t shape[] = {3, 2};
  const int64_t strides[] = {1, 3};
  const std::vector<float> f = {1.5f, -2.75f, 3.0f, -0.5f, 1e10f, 7.25f};
  std::vector<int64_t> as_int(6);
  Cast<float, int64_t>(testing::Ctx(), 2, shape, f.data(), strides, as_int.data());
  EXPECT_EQ(as_int, (std::vector<int64_t>{1, 0, -2, 10000000000, 3, 7}));  // truncation
  std::vector<double> as_double(6);
  Cast<float, double>(testing::Ctx(), 2, shape, f.data(), strides, as_double.data());
  EXPECT_EQ(as_double, (std::vector<double>{1.5, -0.5, -2.75, 1e10f, 3.0, 7.25}));
  // int64 -> float32 rounds once through double, as a value read out and written back would.
  const std::vector<int64_t> big = {(int64_t{1} << 53) + 1, -3};
  const int64_t n[] = {2};
  const int64_t unit[] = {1};
  std::vector<float> back(2);
  Cast<int64_t, float>(testing::Ctx(), 1, n, big.data(), unit, back.data());
  EXPECT_EQ(back[0], static_cast<float>(static_cast<double>(big[0])));
  EXPECT_EQ(back[1], -3.0f);
}

TEST(CopyIntoSliceTest, WritesOnlyTheSlice) {
  // dst (2, 4, 2), src (2, 2, 2) into rows [1, 3) of the middle dim.
  std::vector<int32_t> dst(16, -1);
  const std::vector<int32_t> src = {1, 2, 3, 4, 5, 6, 7, 8};
  CopyIntoSlice(testing::Ctx(), sizeof(int32_t), 2, 4, 2, 1, 2, src.data(), dst.data());
  EXPECT_EQ(dst, (std::vector<int32_t>{-1, -1, 1, 2, 3, 4, -1, -1,  //
                                       -1, -1, 5, 6, 7, 8, -1, -1}));
  const std::vector<double> ref =
      reference::CopyIntoSlice(std::vector<int32_t>(16, -1), src, 2, 4, 2, 1, 2);
  EXPECT_EQ(std::vector<double>(dst.begin(), dst.end()), ref);
  CopyIntoSlice(testing::Ctx(), sizeof(int32_t), 2, 4, 2, 4, 0, nullptr, dst.data());  // empty
}

}  // namespace
}  // namespace mt::kernels::cpu
