// The real launchers on a real GPU against kernels/reference (what the emulated tests cannot
// cover: cuBLAS, FMA rounding, the hardware's scheduling). Skips, saying why, on a machine
// without a usable GPU; built in every build with nvcc so that it can be carried to one.
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/test_util.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/conv_cudnn.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/index.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda {
namespace {

namespace ref = ::mt::kernels::reference;
using ::mt::kernels::cpu::testing::ContiguousStrides;
using ::mt::kernels::cpu::testing::Eps;
using ::mt::kernels::cpu::testing::ExpectAllClose;
using ::mt::kernels::cpu::testing::Product;
using ::mt::kernels::cpu::testing::RandomInt;
using ::mt::kernels::cpu::testing::RandomVector;

// Device memory holding a copy of a host vector; freed at scope exit.
template <typename T>
class DeviceVector {
 public:
  explicit DeviceVector(const std::vector<T>& host) : n_(host.size()) {
    CUDA_CHECK(cudaMalloc(&ptr_, (n_ > 0 ? n_ : 1) * sizeof(T)));
    if (n_ > 0) CUDA_CHECK(cudaMemcpy(ptr_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  explicit DeviceVector(size_t n) : DeviceVector(std::vector<T>(n)) {}
  ~DeviceVector() { cudaFree(ptr_); }
  DeviceVector(const DeviceVector&) = delete;
  DeviceVector& operator=(const DeviceVector&) = delete;
  T* get() const { return static_cast<T*>(ptr_); }
  std::vector<T> Get() const {
    CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> host(n_);
    if (n_ > 0) CUDA_CHECK(cudaMemcpy(host.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  size_t n_;
  void* ptr_ = nullptr;
};

class GpuKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      GTEST_SKIP() << "no usable CUDA device: " << cudaGetErrorString(status);
    }
    if (count == 0) GTEST_SKIP() << "no CUDA device on this machine";
  }
  Context ctx_{1, nullptr};  // the default stream
};

template <typename T>
void CheckElementwise(const Context& ctx) {
  std::mt19937_64 rng(1);
  const std::vector<int64_t> shape = {6, 5, 7};
  auto a = RandomVector<T>(Product(shape), rng, 0.5, 2);
  auto b = RandomVector<T>(5, rng, 0.5, 2);
  const std::vector<int64_t> a_strides = ContiguousStrides(shape), b_strides = {0, 1, 0};
  DeviceVector<T> da(a), db(b), out(a.size());
  for (BinaryOp op :
       {BinaryOp::kAdd, BinaryOp::kDiv, BinaryOp::kMaximum, BinaryOp::kPow, BinaryOp::kGt}) {
    Binary<T>(ctx, op, 3, shape.data(), da.get(), a_strides.data(), db.get(), b_strides.data(),
              out.get());
    std::vector<double> want(a.size());
    ref::ForEachStrided(shape, a_strides, b_strides, [&](int64_t i, int64_t oa, int64_t ob) {
      want[i] = ref::Binary(op, a[oa], b[ob]);
    });
    ExpectAllClose(out.Get(), want, 8 * Eps<T>(), 0, "binary");
  }
  // Transposed view through Unary.
  const std::vector<int64_t> tshape = {7, 5, 6}, tstrides = {1, 7, 35};
  for (UnaryOp op : {UnaryOp::kExp, UnaryOp::kSigmoid, UnaryOp::kSoftplus, UnaryOp::kTanh}) {
    Unary<T>(ctx, op, 3, tshape.data(), da.get(), tstrides.data(), out.get());
    std::vector<double> want;
    for (double x : ref::StridedGather(tshape, a.data(), tstrides))
      want.push_back(ref::Unary(op, x));
    ExpectAllClose(out.Get(), want, 8 * Eps<T>(), 8 * Eps<T>(), "unary");
  }
  Fill<T>(ctx, out.get(), int64_t(a.size()), T(2.5));
  for (T v : out.Get()) ASSERT_EQ(v, T(2.5));
}

TEST_F(GpuKernels, Elementwise) {
  CheckElementwise<float>(ctx_);
  CheckElementwise<double>(ctx_);
}

template <typename T>
void CheckGemm(const Context& ctx) {
  std::mt19937_64 rng(2);
  const int64_t batch = 3, m = 33, n = 17, k = 45;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const int64_t lda = ta ? m : k, ldb = tb ? k : n;
      auto a = RandomVector<T>(batch * m * k, rng), b = RandomVector<T>(k * n, rng);  // b broadcast
      DeviceVector<T> da(a), db(b), dc(batch * m * n);
      BatchedGemm<T>(ctx, batch, ta, tb, m, n, k, da.get(), m * k, lda, db.get(), 0, ldb, T(0),
                     dc.get(), m * n, n);
      const auto c = dc.Get();
      for (int64_t p = 0; p < batch; ++p) {
        const auto r = ref::Gemm(ta, tb, m, n, k, 1.0, a.data() + p * m * k, lda, b.data(), ldb,
                                 0.0, static_cast<const T*>(nullptr), n);
        for (int64_t i = 0; i < m * n; ++i) {
          ASSERT_NEAR(c[p * m * n + i], r.c[i], 4 * (k + 2) * Eps<T>() * r.magnitude[i])
              << "ta=" << ta << " tb=" << tb;
        }
      }
    }
  }
}

TEST_F(GpuKernels, BatchedGemm) {
  CheckGemm<float>(ctx_);
  CheckGemm<double>(ctx_);
}

template <typename T>
void CheckConv(const Context& ctx, const Conv2dShape& s) {
  std::mt19937_64 rng(3);
  auto in = RandomVector<T>(s.batch * s.in_channels * s.in_h * s.in_w, rng);
  auto w = RandomVector<T>(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w, rng);
  auto bias = RandomVector<T>(s.out_channels, rng);
  auto g = RandomVector<T>(s.batch * s.out_channels * s.out_h() * s.out_w(), rng);
  const auto r = ref::Conv2d(s, in, w, bias, g);
  DeviceVector<T> din(in), dw(w), db(bias), dg(g), out(g.size()), gi(in.size()), gw(w.size()),
      gb(bias.size());
  Conv2dForward<T>(ctx, s, din.get(), dw.get(), db.get(), out.get());
  Conv2dBackwardInput<T>(ctx, s, dg.get(), dw.get(), gi.get());
  Conv2dBackwardWeight<T>(ctx, s, dg.get(), din.get(), gw.get(), gb.get());
  auto close = [](const std::vector<T>& got, const std::vector<double>& want,
                  const std::vector<double>& mag, int64_t terms, const char* what) {
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 4 * Eps<T>() * double(terms + 2) * mag[i] + 1e-300)
          << what << " element " << i;
    }
  };
  const int64_t kk = s.in_channels * s.kernel_h * s.kernel_w;
  close(out.Get(), r.out, r.out_mag, kk + 1, "forward");
  close(gi.Get(), r.grad_input, r.grad_input_mag, s.out_channels * s.kernel_h * s.kernel_w,
        "grad input");
  close(gw.Get(), r.grad_weight, r.grad_weight_mag, s.batch * s.out_h() * s.out_w(), "grad weight");
  ExpectAllClose(gb.Get(), r.grad_bias, 4 * Eps<T>(), 1e-4, "grad bias");
}

Conv2dShape ConvShape(int64_t b, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
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

TEST_F(GpuKernels, Conv2dStridedAndAsymmetricallyPadded) {
  for (const Conv2dShape& s : {ConvShape(8, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2),
                               ConvShape(4, 3, 11, 9, 5, 3, 2, 2, 3, 1, 0, 0, 2),
                               ConvShape(6, 8, 1, 40, 16, 1, 3, 1, 1, 0, 0, 0, 2)}) {
    CheckConv<float>(ctx_, s);
    CheckConv<double>(ctx_, s);
  }
}

// Our im2col + cuBLAS forward against cuDNN's, on shapes cuDNN takes (symmetric padding).
template <typename T>
void CompareWithCudnn(const Context& ctx, const Conv2dShape& s) {
  std::mt19937_64 rng(6);
  auto in = RandomVector<T>(s.batch * s.in_channels * s.in_h * s.in_w, rng);
  auto w = RandomVector<T>(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w, rng);
  auto bias = RandomVector<T>(s.out_channels, rng);
  const size_t out_size = s.batch * s.out_channels * s.out_h() * s.out_w();
  DeviceVector<T> din(in), dw(w), db(bias), ours(out_size), theirs(out_size);
  Conv2dForward<T>(ctx, s, din.get(), dw.get(), db.get(), ours.get());
  ASSERT_TRUE(Conv2dForwardCudnn<T>(ctx, s, din.get(), dw.get(), db.get(), theirs.get()));
  const auto a = ours.Get(), b = theirs.Get();
  const double terms = double(s.in_channels * s.kernel_h * s.kernel_w + 1);
  for (size_t i = 0; i < a.size(); ++i) {
    // Both are dot products of the same terms in different orders (|terms| <= 1 each).
    ASSERT_NEAR(a[i], b[i], 8 * Eps<T>() * terms * terms) << "element " << i;
  }
}

TEST_F(GpuKernels, Conv2dMatchesCudnn) {
  for (const Conv2dShape& s : {ConvShape(64, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2),
                               ConvShape(64, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0),
                               ConvShape(16, 8, 9, 9, 12, 3, 3, 2, 2, 1, 1, 1, 1)}) {
    CompareWithCudnn<float>(ctx_, s);
    CompareWithCudnn<double>(ctx_, s);
  }
  EXPECT_FALSE(CudnnSupports(ConvShape(1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 2, 0, 2)))
      << "asymmetric padding is declined";
}

template <typename T>
void CheckReductionsAndSoftmax(const Context& ctx) {
  std::mt19937_64 rng(4);
  for (auto [outer, n, inner] :
       {std::tuple<int64_t, int64_t, int64_t>{64, 10, 1}, {3, 5000, 1}, {4, 9, 100}}) {
    const int64_t size = outer * n * inner;
    auto x = RandomVector<T>(size, rng, -10, 10);
    auto g = RandomVector<T>(size, rng);
    DeviceVector<T> dx(x), dg(g), dout(outer * inner), dy(size), dgi(size);
    DeviceVector<int64_t> darg(outer * inner);
    SumDim<T>(ctx, dx.get(), outer, n, inner, dout.get());
    ExpectAllClose(dout.Get(), ref::SumDim(x, outer, n, inner), 2 * Eps<T>(), 1e-10, "sum");
    MaxDim<T>(ctx, dx.get(), outer, n, inner, dout.get(), darg.get());
    std::vector<double> want;
    std::vector<int64_t> want_arg;
    ref::MaxDim(x, outer, n, inner, &want, &want_arg);
    ExpectAllClose(dout.Get(), want, 0, 0, "max");
    EXPECT_EQ(darg.Get(), want_arg);
    for (bool log : {false, true}) {
      SoftmaxForward<T>(ctx, log, dx.get(), outer, n, inner, dy.get());
      const auto y = dy.Get();
      const double tol = 16 * Eps<T>() * std::sqrt(double(n));
      ExpectAllClose(y,
                     log ? ref::LogSoftmax(x, outer, n, inner) : ref::Softmax(x, outer, n, inner),
                     tol, log ? 20 * tol : tol, "softmax");
      SoftmaxBackward<T>(ctx, log, dy.get(), dg.get(), outer, n, inner, dgi.get());
      ExpectAllClose(dgi.Get(),
                     log ? ref::LogSoftmaxBackward(y, g, outer, n, inner)
                         : ref::SoftmaxBackward(y, g, outer, n, inner),
                     32 * Eps<T>(), 32 * Eps<T>() * std::sqrt(double(n)), "softmax backward");
    }
  }
}

TEST_F(GpuKernels, ReductionsAndSoftmax) {
  CheckReductionsAndSoftmax<float>(ctx_);
  CheckReductionsAndSoftmax<double>(ctx_);
}

TEST_F(GpuKernels, LossIndexEmbeddingDropoutOptim) {
  std::mt19937_64 rng(5);
  const int64_t n = 300, c = 7, dim = 50, num = 20;
  auto lp = RandomVector<float>(n * c, rng, -5, -0.1);
  std::vector<int64_t> target(n);
  for (auto& t : target) t = RandomInt(rng, 0, c - 1);
  DeviceVector<float> dlp(lp), dloss(1), dgi(n * c);
  DeviceVector<int64_t> dt(target);
  NllLossForward<float>(ctx_, dlp.get(), dt.get(), n, c, dloss.get());
  EXPECT_NEAR(dloss.Get()[0], ref::NllLoss(lp, target, c), 1e-5);
  DeviceVector<float> one(std::vector<float>{1.f});
  NllLossBackward<float>(ctx_, one.get(), dt.get(), n, c, dgi.get());
  ExpectAllClose(dgi.Get(), ref::NllLossBackward(1.0, target, c), 1e-6, 0, "nll backward");

  const IndexError ok = FindIndexOutside(ctx_, dt.get(), n, c);
  EXPECT_EQ(ok.position, -1);
  target[123] = c;
  DeviceVector<int64_t> bad(target);
  const IndexError e = FindIndexOutside(ctx_, bad.get(), n, c);
  EXPECT_EQ(e.position, 123);
  EXPECT_EQ(e.value, c);
  target[123] = 0;

  std::vector<int64_t> ids(n);
  for (auto& id : ids) id = RandomInt(rng, 0, num - 1);
  auto go = RandomVector<double>(n * dim, rng);
  auto initial = RandomVector<double>(num * dim, rng);
  DeviceVector<int64_t> dids(ids);
  DeviceVector<double> dgo(go), dgw(initial);
  EmbeddingBackward<double>(ctx_, dgo.get(), dids.get(), n, dim, dgw.get());
  EXPECT_EQ(dgw.Get(), ref::EmbeddingBackward(go, ids, dim, initial)) << "bit-exact, no atomics";

  std::mt19937_64 gpu_engine(42), cpu_engine(42);
  DeviceVector<float> mask(10000);
  std::vector<float> cpu_mask(10000);
  DropoutMask<float>(ctx_, gpu_engine, 10000, 0.7, 1 / 0.7, mask.get());
  kernels::cpu::DropoutMask<float>(Context{1}, cpu_engine, 10000, 0.7, 1 / 0.7, cpu_mask.data());
  EXPECT_EQ(mask.Get(), cpu_mask) << "a seed gives the same mask on CPU and GPU";
  EXPECT_EQ(gpu_engine, cpu_engine);

  const int64_t np = 1000;
  auto p = RandomVector<float>(np, rng), gr = RandomVector<float>(np, rng);
  std::vector<double> rp(p.begin(), p.end()), rg(gr.begin(), gr.end()), rm(np, 0), rv(np, 0);
  DeviceVector<float> dp(p), dgr(gr), dm(np), dv(np);
  AdamStep<float>(ctx_, np, dp.get(), dgr.get(), dm.get(), dv.get(), 1e-3f, 0.9f, 0.999f, 1e-8f,
                  0.f, 1);
  ref::AdamStep(rp, rg, rm, rv, 1e-3, 0.9, 0.999, 1e-8, 0.0, 1);
  ExpectAllClose(dp.Get(), rp, 1e-5, 1e-7, "adam");
}

}  // namespace
}  // namespace mt::kernels::cuda
