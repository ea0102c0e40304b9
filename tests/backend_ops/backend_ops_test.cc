// Runs every kernel of the dispatch table on every device the build has, for float32 and
// float64, against the double-precision references (kernels/reference).
//
// Each buffer handed to a kernel lives in device memory between two guard regions filled with
// a sentinel byte pattern; after the call the guards must be intact (no out-of-bounds writes),
// the inputs unmodified, and the outputs close to the reference. Kernels are called through
// dispatch::Lookup exactly as the ops call them, so a new device's kernels are checked by
// adding nothing here: its device shows up in AvailableDevices().
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/dispatch.h"
#include "engine/tensor.h"
#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt {
namespace {

namespace ref = kernels::reference;
using kernels::BinaryOp;
using kernels::Conv2dShape;
using kernels::UnaryOp;
// Seeded data and tolerant comparisons: the kernel tests' own helpers.
using kernels::cpu::testing::Eps;
using kernels::cpu::testing::ExpectAllClose;
using kernels::cpu::testing::RandomVector;

constexpr size_t kGuardBytes = 64;  // keeps the payload 64-byte aligned
constexpr unsigned char kSentinel = 0xA5;

// Bytes on a device with guard regions before and after the payload.
class Buffer {
 public:
  // payload = `init` (host bytes, nbytes long) or, when null, the sentinel pattern.
  Buffer(Device device, size_t nbytes, const void* init) : device_(device), nbytes_(nbytes) {
    const size_t total = kGuardBytes + RoundUp(nbytes) + kGuardBytes;
    Tensor host = Tensor::Empty({static_cast<int64_t>(total / 8)}, DType::kInt64);
    char* p = static_cast<char*>(host.raw_data());
    std::memset(p, kSentinel, total);
    if (init != nullptr && nbytes > 0) std::memcpy(p + kGuardBytes, init, nbytes);
    initial_ = std::vector<char>(p + kGuardBytes, p + kGuardBytes + nbytes);
    storage_ = host.To(device);
  }

  void* data() const { return static_cast<char*>(storage_.raw_data()) + kGuardBytes; }

  // Host copy of the whole buffer, guards included.
  std::vector<char> All() const {
    Tensor host = storage_.To(Device::CPU());
    const char* p = static_cast<const char*>(host.raw_data());
    return std::vector<char>(p, p + host.numel() * 8);
  }
  std::vector<char> Payload() const {
    std::vector<char> all = All();
    return std::vector<char>(all.begin() + kGuardBytes, all.begin() + kGuardBytes + nbytes_);
  }
  // The guards, and the padding between the payload and the back guard, still hold the
  // sentinel.
  bool GuardsIntact() const {
    std::vector<char> all = All();
    for (size_t i = 0; i < all.size(); ++i) {
      const bool payload = i >= kGuardBytes && i < kGuardBytes + nbytes_;
      if (!payload && static_cast<unsigned char>(all[i]) != kSentinel) return false;
    }
    return true;
  }
  bool Unmodified() const { return Payload() == initial_; }

 private:
  static size_t RoundUp(size_t n) { return (n + 63) / 64 * 64; }
  Device device_;
  size_t nbytes_;
  std::vector<char> initial_;
  Tensor storage_;
};

template <typename T>
Buffer In(Device d, const std::vector<T>& v) {
  return Buffer(d, v.size() * sizeof(T), v.data());
}
template <typename T>
Buffer Out(Device d, size_t n) {
  return Buffer(d, n * sizeof(T), nullptr);
}
template <typename T>
std::vector<T> Get(const Buffer& b) {
  std::vector<char> bytes = b.Payload();
  std::vector<T> v(bytes.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

// A dot-product bound: |got - want| <= 4 (terms + 2) eps * sum|term|.
template <typename T>
void ExpectDotClose(const std::vector<T>& got, const std::vector<double>& want,
                    const std::vector<double>& magnitude, int64_t terms, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = 4 * (terms + 2) * Eps<T>() * magnitude[i] + 1e-30;
    if (!(std::abs(got[i] - want[i]) <= tol) && ++failures <= 5) {
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected " << want[i];
    }
  }
}

template <typename T>
std::vector<double> ToDouble(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

template <typename T>
constexpr DType DTypeOf() {
  return std::is_same_v<T, float> ? DType::kFloat32 : DType::kFloat64;
}

// Guards intact and inputs unchanged, for every buffer of one call.
void ExpectBuffersOk(const std::vector<const Buffer*>& inputs,
                     const std::vector<const Buffer*>& outputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_TRUE(inputs[i]->GuardsIntact()) << "input " << i << ": a guard region was overwritten";
    EXPECT_TRUE(inputs[i]->Unmodified()) << "input " << i << " was modified";
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    EXPECT_TRUE(outputs[i]->GuardsIntact()) << "output " << i << ": a guard region was overwritten";
  }
}

struct Param {
  Device device;
  DType dtype;
};

std::vector<Param> AllParams() {
  std::vector<Param> out;
  for (const Device& d : AvailableDevices()) {
    out.push_back({d, DType::kFloat32});
    out.push_back({d, DType::kFloat64});
  }
  return out;
}

class BackendOps : public ::testing::TestWithParam<Param> {
 protected:
  Device device() const { return GetParam().device; }
  dispatch::Context ctx() const { return dispatch::ContextFor(device()); }
  template <typename Op>
  typename Op::Fn kernel() const {
    return dispatch::Lookup<Op>(device());
  }
  // Runs body.template operator()<T>() with T = the parameter's float type.
  template <typename F>
  void ForDType(F body) {
    if (GetParam().dtype == DType::kFloat32) {
      body(float{});
    } else {
      body(double{});
    }
  }
};

// ---------------------------------------------------------------- elementwise
TEST_P(BackendOps, Unary) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(1);
    // A transposed (3, 4, 5) view of (5, 4, 3) storage.
    const std::vector<int64_t> shape = {3, 4, 5}, strides = {1, 3, 12};
    for (UnaryOp op :
         {UnaryOp::kCopy, UnaryOp::kNeg, UnaryOp::kExp, UnaryOp::kLog, UnaryOp::kRelu,
          UnaryOp::kSigmoid, UnaryOp::kSoftplus, UnaryOp::kTanh, UnaryOp::kSqrt, UnaryOp::kAbs}) {
      const bool positive = op == UnaryOp::kLog || op == UnaryOp::kSqrt;
      const auto x = RandomVector<T>(60, rng, positive ? 0.1 : -3, 3);
      Buffer bx = In(device(), x), by = Out<T>(device(), 60);
      kernel<dispatch::UnaryKernel>()(ctx(), DTypeOf<T>(), op, 3, shape.data(), bx.data(),
                                      strides.data(), by.data());
      ExpectBuffersOk({&bx}, {&by});
      std::vector<double> want;
      for (double v : ref::StridedGather(shape, x.data(), strides)) {
        want.push_back(ref::Unary(op, v));
      }
      ExpectAllClose(Get<T>(by), want, 16 * Eps<T>(), 16 * Eps<T>(),
                     "unary op " + std::to_string(static_cast<int>(op)));
    }
  });
}

TEST_P(BackendOps, BinaryIncludingComparisonsAndReluBackward) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(2);
    // a: transposed view; b: broadcast along dim 1 (stride 0).
    const std::vector<int64_t> shape = {3, 4, 5}, sa = {1, 3, 12}, sb = {5, 0, 1};
    for (BinaryOp op : {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv,
                        BinaryOp::kLt, BinaryOp::kEq, BinaryOp::kGt, BinaryOp::kMaximum,
                        BinaryOp::kReluBackward, BinaryOp::kPow}) {
      const bool compare = op == BinaryOp::kLt || op == BinaryOp::kEq || op == BinaryOp::kGt;
      auto a = RandomVector<T>(60, rng, op == BinaryOp::kPow ? 0.1 : -3, 3);
      auto b = RandomVector<T>(15, rng, op == BinaryOp::kDiv ? 0.5 : -3, 3);
      if (compare) {  // few distinct values, so equal pairs occur
        for (T& v : a) v = std::round(v);
        for (T& v : b) v = std::round(v);
      }
      Buffer ba = In(device(), a), bb = In(device(), b), bo = Out<T>(device(), 60);
      kernel<dispatch::BinaryKernel>()(ctx(), DTypeOf<T>(), op, 3, shape.data(), ba.data(),
                                       sa.data(), bb.data(), sb.data(), bo.data());
      ExpectBuffersOk({&ba, &bb}, {&bo});
      std::vector<double> want(60);
      ref::ForEachStrided(shape, sa, sb, [&](int64_t i, int64_t oa, int64_t ob) {
        want[i] = ref::Binary(op, a[oa], b[ob]);
      });
      ExpectAllClose(Get<T>(bo), want, 16 * Eps<T>(), 16 * Eps<T>(),
                     "binary op " + std::to_string(static_cast<int>(op)));
    }
  });
}

TEST_P(BackendOps, Fill) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    Buffer b = Out<T>(device(), 1000);
    kernel<dispatch::FillKernel>()(ctx(), DTypeOf<T>(), b.data(), 1000, 2.5);
    ExpectBuffersOk({}, {&b});
    EXPECT_EQ(Get<T>(b), std::vector<T>(1000, T(2.5)));
    Buffer bi = Out<int64_t>(device(), 7);
    kernel<dispatch::FillKernel>()(ctx(), DType::kInt64, bi.data(), 7, -3.0);
    ExpectBuffersOk({}, {&bi});
    EXPECT_EQ(Get<int64_t>(bi), std::vector<int64_t>(7, -3));
  });
}

TEST_P(BackendOps, StridedCopyOfATransposedView) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(3);
    const std::vector<int64_t> shape = {2, 40, 33}, strides = {1320, 1, 40};
    const auto x = RandomVector<T>(2 * 40 * 33, rng);
    Buffer bx = In(device(), x), by = Out<T>(device(), x.size());
    kernel<dispatch::StridedCopyKernel>()(ctx(), sizeof(T), 3, shape.data(), bx.data(),
                                          strides.data(), by.data());
    ExpectBuffersOk({&bx}, {&by});
    EXPECT_EQ(ToDouble(Get<T>(by)), ref::StridedGather(shape, x.data(), strides));
  });
}

template <typename From, typename To>
void CheckCast(Device device, const dispatch::Context& ctx) {
  std::mt19937_64 rng(4);
  const std::vector<int64_t> shape = {4, 6}, strides = {1, 4};  // transposed
  std::vector<From> x(24);
  std::uniform_real_distribution<double> dist(-50, 50);
  for (From& v : x) v = static_cast<From>(dist(rng));
  const DType from = std::is_same_v<From, int64_t> ? DType::kInt64 : DTypeOf<From>();
  const DType to = std::is_same_v<To, int64_t> ? DType::kInt64 : DTypeOf<To>();
  Buffer bx = In(device, x), by = Out<To>(device, 24);
  dispatch::Lookup<dispatch::CastKernel>(device)(ctx, from, to, 2, shape.data(), bx.data(),
                                                 strides.data(), by.data());
  ExpectBuffersOk({&bx}, {&by});
  std::vector<To> want;
  for (double v : ref::StridedGather(shape, x.data(), strides)) {
    want.push_back(static_cast<To>(v));
  }
  EXPECT_EQ(Get<To>(by), want) << DTypeName(from) << " -> " << DTypeName(to);
}

TEST_P(BackendOps, CastBetweenAllDTypes) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    CheckCast<T, float>(device(), ctx());
    CheckCast<T, double>(device(), ctx());
    CheckCast<T, int64_t>(device(), ctx());
    CheckCast<int64_t, T>(device(), ctx());
  });
}

TEST_P(BackendOps, CopyIntoSliceAndDeviceCopy) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(5);
    const int64_t outer = 3, size = 7, inner = 5, start = 2, length = 4;
    const auto dst0 = RandomVector<T>(outer * size * inner, rng);
    const auto src = RandomVector<T>(outer * length * inner, rng);
    Buffer bs = In(device(), src), bd = In(device(), dst0);
    kernel<dispatch::CopyIntoSliceKernel>()(ctx(), sizeof(T), outer, size, inner, start, length,
                                            bs.data(), bd.data());
    ExpectBuffersOk({&bs}, {&bd});
    EXPECT_EQ(ToDouble(Get<T>(bd)),
              ref::CopyIntoSlice(dst0, src, outer, size, inner, start, length));

    Buffer copy = Out<T>(device(), src.size());
    kernel<dispatch::DeviceCopyKernel>()(ctx(), copy.data(), device(), bs.data(), device(),
                                         src.size() * sizeof(T));
    ExpectBuffersOk({&bs}, {&copy});
    EXPECT_EQ(Get<T>(copy), src);
  });
}

// ---------------------------------------------------------------- reductions
TEST_P(BackendOps, SumDim) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(6);
    for (auto [outer, n, inner] :
         std::vector<std::array<int64_t, 3>>{{3, 50, 7}, {1, 100000, 1}, {5, 1, 300}, {2, 0, 3}}) {
      const auto x = RandomVector<T>(outer * n * inner, rng);
      Buffer bx = In(device(), x), by = Out<T>(device(), outer * inner);
      kernel<dispatch::SumDimKernel>()(ctx(), DTypeOf<T>(), bx.data(), outer, n, inner, by.data());
      ExpectBuffersOk({&bx}, {&by});
      std::vector<double> abs_x(x.size());
      for (size_t i = 0; i < x.size(); ++i) abs_x[i] = std::abs(double(x[i]));
      ExpectDotClose(Get<T>(by), ref::SumDim(x, outer, n, inner),
                     ref::SumDim(abs_x, outer, n, inner), 0, "SumDim");
    }
  });
}

TEST_P(BackendOps, MaxDimAndBackward) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(7);
    for (auto [outer, n, inner] :
         std::vector<std::array<int64_t, 3>>{{3, 9, 7}, {10, 13, 1}, {1, 4, 100}}) {
      auto x = RandomVector<T>(outer * n * inner, rng, -3, 3);
      for (T& v : x) v = std::round(v);  // ties: the first arg-max must win
      Buffer bx = In(device(), x), bv = Out<T>(device(), outer * inner),
             bi = Out<int64_t>(device(), outer * inner);
      kernel<dispatch::MaxDimKernel>()(ctx(), DTypeOf<T>(), bx.data(), outer, n, inner, bv.data(),
                                       static_cast<int64_t*>(bi.data()));
      ExpectBuffersOk({&bx}, {&bv, &bi});
      std::vector<double> want;
      std::vector<int64_t> want_arg;
      ref::MaxDim(x, outer, n, inner, &want, &want_arg);
      EXPECT_EQ(ToDouble(Get<T>(bv)), want);
      const std::vector<int64_t> arg = Get<int64_t>(bi);
      EXPECT_EQ(arg, want_arg);

      const auto g = RandomVector<T>(outer * inner, rng);
      Buffer bg = In(device(), g), barg = In(device(), arg),
             bgi = Out<T>(device(), outer * n * inner);
      kernel<dispatch::MaxDimBackwardKernel>()(ctx(), DTypeOf<T>(), bg.data(),
                                               static_cast<const int64_t*>(barg.data()), outer, n,
                                               inner, bgi.data());
      ExpectBuffersOk({&bg, &barg}, {&bgi});
      EXPECT_EQ(ToDouble(Get<T>(bgi)), ref::MaxDimBackward(g, arg, outer, n, inner));
    }
  });
}

// ---------------------------------------------------------------- indices
TEST_P(BackendOps, IndexCheckAndOneHot) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    const std::vector<int64_t> good = {0, 4, 2, 2, 1, 3};
    for (const std::vector<int64_t>& ids :
         {good, std::vector<int64_t>{0, 1, 5, -1}, std::vector<int64_t>{-2, 9}}) {
      Buffer b = In(device(), ids);
      const dispatch::IndexError e = kernel<dispatch::IndexCheckKernel>()(
          ctx(), static_cast<const int64_t*>(b.data()), static_cast<int64_t>(ids.size()), 5);
      ExpectBuffersOk({&b}, {});
      const auto [position, value] = ref::FindIndexOutside(ids, 5);
      EXPECT_EQ(e.position, position);
      if (position >= 0) {
        EXPECT_EQ(e.value, value);
      }
    }
    Buffer bids = In(device(), good), bo = Out<T>(device(), good.size() * 5);
    kernel<dispatch::OneHotKernel>()(ctx(), DTypeOf<T>(), static_cast<const int64_t*>(bids.data()),
                                     static_cast<int64_t>(good.size()), 5, bo.data());
    ExpectBuffersOk({&bids}, {&bo});
    EXPECT_EQ(ToDouble(Get<T>(bo)), ref::OneHot(good, 5));
  });
}

// ---------------------------------------------------------------- matmul
TEST_P(BackendOps, BatchedGemm) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(8);
    const int64_t batch = 3, m = 7, n = 9, k = 11;
    for (int combo = 0; combo < 8; ++combo) {
      const bool ta = combo & 1, tb = combo & 2, broadcast_b = combo & 4;
      const double beta = combo % 3 == 0 ? 0.0 : 0.5;
      const int64_t lda = ta ? m : k, ldb = tb ? k : n;
      const int64_t a_size = m * k, b_size = k * n, c_size = m * n;
      const auto a = RandomVector<T>(batch * a_size, rng);
      const auto b = RandomVector<T>(broadcast_b ? b_size : batch * b_size, rng);
      auto c0 = RandomVector<T>(batch * c_size, rng);
      if (beta == 0) {  // beta 0 must not read C: NaN there must not leak
        for (T& v : c0) v = std::numeric_limits<T>::quiet_NaN();
      }
      Buffer ba = In(device(), a), bb = In(device(), b), bc = In(device(), c0);
      kernel<dispatch::BatchedGemmKernel>()(ctx(), DTypeOf<T>(), batch, ta, tb, m, n, k, ba.data(),
                                            a_size, lda, bb.data(), broadcast_b ? 0 : b_size, ldb,
                                            beta, bc.data(), c_size, n);
      ExpectBuffersOk({&ba, &bb}, {&bc});
      const std::vector<T> c = Get<T>(bc);
      for (int64_t p = 0; p < batch; ++p) {
        const ref::GemmResult r = ref::Gemm(ta, tb, m, n, k, 1.0, a.data() + p * a_size, lda,
                                            b.data() + (broadcast_b ? 0 : p * b_size), ldb, beta,
                                            c0.data() + p * c_size, n);
        ExpectDotClose(std::vector<T>(c.begin() + p * c_size, c.begin() + (p + 1) * c_size), r.c,
                       r.magnitude, k, "BatchedGemm combo " + std::to_string(combo));
      }
    }
  });
}

// ---------------------------------------------------------------- convolution
TEST_P(BackendOps, Conv2dForwardAndBackward) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(9);
    Conv2dShape s;
    s.batch = 3;
    s.in_channels = 3;
    s.in_h = 7;
    s.in_w = 6;
    s.out_channels = 4;
    s.kernel_h = 3;
    s.kernel_w = 2;
    s.stride_h = 2;
    s.pad_top = 1;
    s.pad_right = 1;
    const int64_t oh = s.out_h(), ow = s.out_w();
    const auto in = RandomVector<T>(s.batch * s.in_channels * s.in_h * s.in_w, rng);
    const auto w = RandomVector<T>(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w, rng);
    const auto bias = RandomVector<T>(s.out_channels, rng);
    const auto g = RandomVector<T>(s.batch * s.out_channels * oh * ow, rng);
    const ref::Conv2dResult r = ref::Conv2d(s, in, w, bias, g);
    Buffer bin = In(device(), in), bw = In(device(), w), bbias = In(device(), bias),
           bg = In(device(), g);
    Buffer bout = Out<T>(device(), g.size()), bgi = Out<T>(device(), in.size()),
           bgw = Out<T>(device(), w.size()), bgb = Out<T>(device(), bias.size());
    kernel<dispatch::Conv2dForwardKernel>()(ctx(), DTypeOf<T>(), s, bin.data(), bw.data(),
                                            bbias.data(), bout.data());
    kernel<dispatch::Conv2dBackwardInputKernel>()(ctx(), DTypeOf<T>(), s, bg.data(), bw.data(),
                                                  bgi.data());
    kernel<dispatch::Conv2dBackwardWeightKernel>()(ctx(), DTypeOf<T>(), s, bg.data(), bin.data(),
                                                   bgw.data(), bgb.data());
    ExpectBuffersOk({&bin, &bw, &bbias, &bg}, {&bout, &bgi, &bgw, &bgb});
    ExpectDotClose(Get<T>(bout), r.out, r.out_mag, s.in_channels * s.kernel_h * s.kernel_w,
                   "conv forward");
    ExpectDotClose(Get<T>(bgi), r.grad_input, r.grad_input_mag,
                   s.out_channels * s.kernel_h * s.kernel_w, "conv backward input");
    ExpectDotClose(Get<T>(bgw), r.grad_weight, r.grad_weight_mag, s.batch * oh * ow,
                   "conv backward weight");
    std::vector<double> gb_mag(s.out_channels, 0);
    for (size_t i = 0; i < g.size(); ++i) {
      gb_mag[(i / (oh * ow)) % s.out_channels] += std::abs(double(g[i]));
    }
    ExpectDotClose(Get<T>(bgb), r.grad_bias, gb_mag, s.batch * oh * ow, "conv backward bias");
  });
}

// ---------------------------------------------------------------- softmax
TEST_P(BackendOps, SoftmaxAndLogSoftmaxForwardAndBackward) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(10);
    for (auto [outer, n, inner] :
         std::vector<std::array<int64_t, 3>>{{2, 9, 3}, {4, 10, 1}, {1, 3, 70}}) {
      for (bool log : {false, true}) {
        const auto x = RandomVector<T>(outer * n * inner, rng, -4, 4);
        const auto g = RandomVector<T>(x.size(), rng);
        Buffer bx = In(device(), x), by = Out<T>(device(), x.size());
        kernel<dispatch::SoftmaxForwardKernel>()(ctx(), DTypeOf<T>(), log, bx.data(), outer, n,
                                                 inner, by.data());
        ExpectBuffersOk({&bx}, {&by});
        const std::vector<T> y = Get<T>(by);
        ExpectAllClose(y,
                       log ? ref::LogSoftmax(x, outer, n, inner) : ref::Softmax(x, outer, n, inner),
                       16 * Eps<T>(), 16 * Eps<T>(), log ? "log_softmax" : "softmax");

        Buffer byin = In(device(), y), bg = In(device(), g), bgi = Out<T>(device(), x.size());
        kernel<dispatch::SoftmaxBackwardKernel>()(ctx(), DTypeOf<T>(), log, byin.data(), bg.data(),
                                                  outer, n, inner, bgi.data());
        ExpectBuffersOk({&byin, &bg}, {&bgi});
        const double atol = 32 * Eps<T>() * std::sqrt(double(n));
        ExpectAllClose(Get<T>(bgi),
                       log ? ref::LogSoftmaxBackward(y, g, outer, n, inner)
                           : ref::SoftmaxBackward(y, g, outer, n, inner),
                       32 * Eps<T>(), atol, log ? "log_softmax backward" : "softmax backward");
      }
    }
  });
}

// ---------------------------------------------------------------- dropout, losses, embeddings
TEST_P(BackendOps, DropoutMaskDrawsTheStreamInOrder) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 engine(123);
    const std::mt19937_64 before = engine;
    const int64_t n = 1001;
    const double keep = 0.7, scale = 1 / keep;
    Buffer bm = Out<T>(device(), n);
    kernel<dispatch::DropoutMaskKernel>()(ctx(), DTypeOf<T>(), engine, n, keep, scale, bm.data());
    ExpectBuffersOk({}, {&bm});
    std::vector<T> want;
    for (double v : ref::DropoutMask(before, n, keep, scale)) want.push_back(static_cast<T>(v));
    EXPECT_EQ(Get<T>(bm), want);
    // Exactly one draw per element: the stream continues where the reference's would.
    std::mt19937_64 expected = before;
    expected.discard(n);
    EXPECT_EQ(engine, expected);
  });
}

TEST_P(BackendOps, NllLossForwardAndBackward) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(11);
    const int64_t n = 6, c = 5;
    auto lp = RandomVector<T>(n * c, rng, -5, -0.01);
    lp[1] = -std::numeric_limits<T>::infinity();  // a -inf off target must not become NaN
    const std::vector<int64_t> target = {0, 4, 2, 2, 1, 3};
    Buffer blp = In(device(), lp), bt = In(device(), target), bo = Out<T>(device(), 1);
    kernel<dispatch::NllLossForwardKernel>()(
        ctx(), DTypeOf<T>(), blp.data(), static_cast<const int64_t*>(bt.data()), n, c, bo.data());
    ExpectBuffersOk({&blp, &bt}, {&bo});
    ExpectAllClose(Get<T>(bo), {ref::NllLoss(lp, target, c)}, 4 * Eps<T>(), 0, "nll forward");

    const std::vector<T> g = {T(0.7)};
    Buffer bg = In(device(), g), bgi = Out<T>(device(), n * c);
    kernel<dispatch::NllLossBackwardKernel>()(
        ctx(), DTypeOf<T>(), bg.data(), static_cast<const int64_t*>(bt.data()), n, c, bgi.data());
    ExpectBuffersOk({&bg, &bt}, {&bgi});
    std::vector<T> want;
    for (double v : ref::NllLossBackward(double(g[0]), target, c)) {
      want.push_back(static_cast<T>(v));
    }
    EXPECT_EQ(Get<T>(bgi), want);
  });
}

TEST_P(BackendOps, EmbeddingForwardAndBackward) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(12);
    const int64_t num = 11, dim = 300;
    const auto weight = RandomVector<T>(num * dim, rng);
    std::vector<int64_t> ids(50);
    for (int64_t& id : ids) id = static_cast<int64_t>(rng() % num);
    const int64_t n_ids = static_cast<int64_t>(ids.size());
    Buffer bw = In(device(), weight), bids = In(device(), ids), bo = Out<T>(device(), n_ids * dim);
    kernel<dispatch::EmbeddingForwardKernel>()(ctx(), DTypeOf<T>(), bw.data(), dim,
                                               static_cast<const int64_t*>(bids.data()), n_ids,
                                               bo.data());
    ExpectBuffersOk({&bw, &bids}, {&bo});
    EXPECT_EQ(ToDouble(Get<T>(bo)), ref::EmbeddingForward(weight, dim, ids));

    const auto g = RandomVector<T>(n_ids * dim, rng);
    const auto gw0 = RandomVector<T>(num * dim, rng);  // the kernel adds into what is there
    Buffer bg = In(device(), g), bgw = In(device(), gw0);
    kernel<dispatch::EmbeddingBackwardKernel>()(ctx(), DTypeOf<T>(), bg.data(),
                                                static_cast<const int64_t*>(bids.data()), n_ids,
                                                dim, bgw.data());
    ExpectBuffersOk({&bg, &bids}, {&bgw});
    EXPECT_EQ(Get<T>(bgw), ref::EmbeddingBackward(g, ids, dim, gw0));
  });
}

// ---------------------------------------------------------------- optimisers
TEST_P(BackendOps, SgdAndAdamSteps) {
  ForDType([&](auto tag) {
    using T = decltype(tag);
    std::mt19937_64 rng(13);
    const int64_t n = 70001;
    const auto p0 = RandomVector<T>(n, rng);
    Buffer bp = In(device(), p0), bbuf = Out<T>(device(), n), bpa = In(device(), p0),
           bm = In(device(), std::vector<T>(n, T(0))), bv = In(device(), std::vector<T>(n, T(0)));
    std::vector<double> rp = ToDouble(p0), rbuf(n), rpa = rp, rm(n, 0), rv(n, 0);
    for (int step = 1; step <= 3; ++step) {
      const auto g = RandomVector<T>(n, rng);
      Buffer bg = In(device(), g);
      kernel<dispatch::SgdStepKernel>()(ctx(), DTypeOf<T>(), n, bp.data(), bg.data(), bbuf.data(),
                                        0.05, 0.8, 0.001, step == 1);
      kernel<dispatch::AdamStepKernel>()(ctx(), DTypeOf<T>(), n, bpa.data(), bg.data(), bm.data(),
                                         bv.data(), 0.01, 0.9, 0.99, 1e-6, 0.01, step);
      ExpectBuffersOk({&bg}, {&bp, &bbuf, &bpa, &bm, &bv});
      ref::SgdStep(rp, ToDouble(g), rbuf, 0.05, 0.8, 0.001, step == 1);
      ref::AdamStep(rpa, ToDouble(g), rm, rv, 0.01, 0.9, 0.99, 1e-6, 0.01, step);
    }
    ExpectAllClose(Get<T>(bp), rp, 1e-5, 1e-5, "sgd");
    ExpectAllClose(Get<T>(bpa), rpa, 1e-4, 1e-5, "adam");
  });
}

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  std::string device = info.param.device.ToString();
  for (char& ch : device) {
    if (ch == ':') ch = '_';
  }
  return device + "_" + DTypeName(info.param.dtype);
}

INSTANTIATE_TEST_SUITE_P(AllDevices, BackendOps, ::testing::ValuesIn(AllParams()), ParamName);

// The list this test iterates over is the engine's, and the CPU is always in it.
TEST(BackendOpsSetup, TheCpuIsAmongTheDevices) {
  const std::vector<Device> devices = AvailableDevices();
  ASSERT_FALSE(devices.empty());
  EXPECT_EQ(devices[0], Device::CPU());
}

}  // namespace
}  // namespace mt
