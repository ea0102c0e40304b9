// Every op of the engine (ops.h) on a device other than the CPU, against the CPU: the forward
// values in float32 and float64, and a float64 finite-difference gradient check of the op on the
// device (its backward kernels included). Inputs are drawn on the host; the op runs on the
// device; the result comes back with To(cpu), whose backward carries the gradient to the device
// and back, so the check covers device forward and backward alike.
//
// Devices:
//   test:0 "the CPU in disguise" (engine/host_device_testing.h): runs everywhere, proves the
//          harness, and must match the CPU bit for bit (same kernels, one thread);
//   cuda:0 when this build has CUDA and the machine a GPU; otherwise each case is skipped with
//          the runtime's reason (e.g. "no usable CUDA driver or GPU on this machine (...)").
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/cuda/runtime.h"
#include "engine/gradcheck.h"
#include "engine/host_device_testing.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "engine/threads.h"
#include "gtest/gtest.h"

namespace mt {
namespace {

struct Input {
  Shape shape;
  double lo = -1, hi = 1;
};

// f gets the float inputs (on `device`) and builds any integer ones itself on `device`.
using OpFn = std::function<Tensor(const std::vector<Tensor>&, Device)>;

struct OpCase {
  std::string name;
  std::vector<Input> inputs;
  OpFn f;
  bool differentiable = true;
};

Tensor Ids(const std::vector<int64_t>& v, Device d) {
  return Tensor::FromInt64(v, {static_cast<int64_t>(v.size())}, d);
}

std::vector<OpCase> Cases() {
  using V = const std::vector<Tensor>&;
  std::vector<OpCase> c;
  // ---- elementwise, with broadcasting and strided views
  c.push_back({"Neg", {{{3, 4}}}, [](V x, Device) { return Neg(x[0]); }});
  c.push_back({"Exp", {{{3, 4}}}, [](V x, Device) { return Exp(x[0]); }});
  c.push_back({"Log", {{{3, 4}, 0.5, 2}}, [](V x, Device) { return Log(x[0]); }});
  c.push_back({"Relu", {{{3, 4}}}, [](V x, Device) { return Relu(x[0]); }});
  c.push_back({"Sigmoid", {{{3, 4}}}, [](V x, Device) { return Sigmoid(x[0]); }});
  c.push_back({"Tanh", {{{3, 4}}}, [](V x, Device) { return Tanh(x[0]); }});
  c.push_back({"Softplus", {{{3, 4}, -3, 3}}, [](V x, Device) { return Softplus(x[0]); }});
  c.push_back({"Sqrt", {{{3, 4}, 0.5, 2}}, [](V x, Device) { return Sqrt(x[0]); }});
  c.push_back({"AddBroadcast", {{{2, 3, 4}}, {{3, 1}}}, [](V x, Device) { return Add(x[0], x[1]); }});
  c.push_back({"SubBroadcast", {{{2, 3}}, {{2, 1}}}, [](V x, Device) { return Sub(x[0], x[1]); }});
  c.push_back({"MulBroadcast", {{{2, 3, 4}}, {{4}}}, [](V x, Device) { return Mul(x[0], x[1]); }});
  c.push_back({"Div", {{{3, 4}}, {{3, 4}, 0.5, 2}}, [](V x, Device) { return Div(x[0], x[1]); }});
  c.push_back({"AddTransposedView", {{{4, 3}}, {{3, 4}}},
               [](V x, Device) { return Add(Transpose(x[0], 0, 1), x[1]); }});
  c.push_back({"ScalarOps", {{{5}}}, [](V x, Device) { return (x[0] * 2.5 + 1.0) / 3.0 - 0.5; }});
  c.push_back({"Lt", {{{3, 4}}, {{3, 4}}}, [](V x, Device) { return Lt(x[0], x[1]); }, false});
  c.push_back({"Gt", {{{3, 4}}, {{4}}}, [](V x, Device) { return Gt(x[0], x[1]); }, false});
  c.push_back({"Eq", {{{3, 4}}}, [](V x, Device) { return Eq(Relu(x[0]), x[0]); }, false});
  // ---- reductions
  c.push_back({"SumAll", {{{3, 4, 2}}}, [](V x, Device) { return Sum(x[0]); }});
  c.push_back({"SumDimKeep", {{{3, 4, 2}}}, [](V x, Device) { return Sum(x[0], 1, true); }});
  c.push_back({"MeanAll", {{{3, 4}}}, [](V x, Device) { return Mean(x[0]); }});
  c.push_back({"MeanDim", {{{3, 4}}}, [](V x, Device) { return Mean(x[0], 0); }});
  c.push_back({"MaxDim", {{{3, 5, 2}}}, [](V x, Device) { return Max(x[0], 1); }});
  c.push_back({"Argmax", {{{4, 6}}}, [](V x, Device) { return Argmax(x[0], 1); }, false});
  c.push_back({"OneHotOfArgmax", {{{4, 6}}},
               [](V x, Device) { return OneHot(Argmax(x[0], 1), 6, x[0].dtype()); }, false});
  // ---- linear algebra
  c.push_back({"Matmul", {{{3, 4}}, {{4, 5}}}, [](V x, Device) { return Matmul(x[0], x[1]); }});
  c.push_back({"MatmulBatchedBroadcast", {{{2, 3, 4}}, {{4, 5}}},
               [](V x, Device) { return Matmul(x[0], x[1]); }});
  c.push_back({"MatmulTransposedViews", {{{2, 4, 3}}, {{2, 5, 4}}},
               [](V x, Device) { return Matmul(Transpose(x[0], 1, 2), Transpose(x[1], 1, 2)); }});
  // ---- convolution and pooling
  c.push_back({"Conv1dStridePadBias", {{{2, 3, 9}}, {{4, 3, 3}}, {{4}}}, [](V x, Device) {
                 return Conv1d(x[0], x[1], x[2], Conv1dOptions{2, 1, 2});
               }});
  c.push_back({"Conv2dStrideAsymmetricPadBias", {{{2, 2, 6, 5}}, {{3, 2, 3, 2}}, {{3}}},
               [](V x, Device) {
                 Conv2dOptions o;
                 o.stride_h = 2;
                 o.pad_top = 1;
                 o.pad_bottom = 0;
                 o.pad_left = 2;
                 o.pad_right = 1;
                 return Conv2d(x[0], x[1], x[2], o);
               }});
  c.push_back({"Conv2dNoBias", {{{1, 3, 5, 5}}, {{2, 3, 3, 3}}},
               [](V x, Device) { return Conv2d(x[0], x[1], Tensor()); }});
  c.push_back({"Conv2dMaxPoolRelu", {{{2, 1, 12, 14}}, {{3, 1, 3, 3}}, {{3}}}, [](V x, Device) {
                 Conv2dOptions o;
                 o.pad_top = o.pad_bottom = o.pad_left = o.pad_right = 1;
                 return Conv2dMaxPoolRelu(x[0], x[1], x[2], o, 2, 2);
               }});
  c.push_back({"Tile", {{{2, 2, 4, 6}}}, [](V x, Device) { return Tile(x[0], 2, 3); }});
  c.push_back({"AvgPool2d", {{{2, 2, 4, 6}}}, [](V x, Device) { return AvgPool2d(x[0], 2, 3); }});
  c.push_back({"MaxPool2d", {{{2, 2, 4, 6}}}, [](V x, Device) { return MaxPool2d(x[0], 2, 3); }});
  // ---- classification heads and losses
  c.push_back({"Softmax", {{{3, 5}}}, [](V x, Device) { return Softmax(x[0], 1); }});
  c.push_back({"LogSoftmaxInnerDim", {{{3, 4, 2}}}, [](V x, Device) { return LogSoftmax(x[0], 1); }});
  c.push_back({"NllLoss", {{{4, 5}}}, [](V x, Device d) {
                 return NllLoss(LogSoftmax(x[0], 1), Ids({0, 3, 4, 3}, d));
               }});
  c.push_back({"CrossEntropy", {{{4, 5}, -3, 3}}, [](V x, Device d) {
                 return CrossEntropy(x[0], Ids({1, 1, 0, 4}, d));
               }});
  c.push_back({"BinaryCrossEntropy", {{{6}}, {{6}, 0, 1}}, [](V x, Device) {
                 // Targets 0/1 from the second input, without a gradient of their own.
                 Tensor t = Gt(x[1].Detach(), Tensor::Scalar(0.5, x[1].dtype(), x[1].device()));
                 return BinaryCrossEntropy(Sigmoid(x[0]), t);
               }});
  c.push_back({"BceWithLogits", {{{6}, -3, 3}, {{6}, 0, 1}}, [](V x, Device) {
                 Tensor t = Gt(x[1].Detach(), Tensor::Scalar(0.5, x[1].dtype(), x[1].device()));
                 return BinaryCrossEntropyWithLogits(x[0], t);
               }});
  c.push_back({"Dropout", {{{4, 8}}}, [](V x, Device) {
                 Generator gen(42);  // reseeded every call: the same mask each time
                 return Dropout(x[0], 0.3, true, gen);
               }});
  c.push_back({"EmbeddingRepeatedIds", {{{7, 3}}}, [](V x, Device d) {
                 return Embedding(x[0], Tensor::FromInt64({1, 4, 1, 6, 0, 1, 4, 2}, {2, 4}, d));
               }});
  // ---- shape ops and copies
  c.push_back({"PermuteContiguous", {{{2, 3, 4}}},
               [](V x, Device) { return Contiguous(Permute(x[0], {2, 0, 1})); }});
  c.push_back({"CatNarrow", {{{2, 3}}, {{2, 2}}},
               [](V x, Device) { return Narrow(Cat({x[0], x[1]}, 1), 1, 1, 3); }});
  c.push_back({"ExpandReshapeSumTo", {{{3, 1}}}, [](V x, Device) {
                 return SumTo(Reshape(Expand(x[0], {2, 3, 4}), {6, 4}), {1, 4});
               }});
  c.push_back({"ToDTypeAndBack", {{{3, 4}}}, [](V x, Device) {
                 const DType other = x[0].dtype() == DType::kFloat64 ? DType::kFloat32 : DType::kFloat64;
                 return ToDType(ToDType(x[0], other) * 3.0, x[0].dtype());
               },
               // Forward only: a float64 finite difference through float32 measures float32's
               // rounding, not the derivative (the cast's backward is checked on the CPU).
               false});
  return c;
}

// ---------------------------------------------------------------- the fixture

struct Param {
  std::string device;  // "test:0" or "cuda:0"
  size_t op;
};

class DeviceOps : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    if (GetParam().device == "cuda:0") {
      if (cuda::GpuCount() == 0) GTEST_SKIP() << "no GPU: " << cuda::NoGpuReason();
      device_ = Device{Device::Type::kCUDA, 0};
    } else {
      disguise_ = std::make_unique<testing::ScopedHostAsDevice>();
      device_ = testing::kHostAsDevice;
    }
  }
  bool exact() const { return device_.type == Device::Type::kTest; }

  Device device_;
  std::unique_ptr<testing::ScopedHostAsDevice> disguise_;
  ScopedThreads one_thread_{1};  // the disguised device's kernels get one thread: so does the CPU
};

std::vector<Tensor> RandomInputs(const OpCase& op, DType dtype, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Tensor> out;
  for (const Input& in : op.inputs) {
    std::uniform_real_distribution<double> u(in.lo, in.hi);
    std::vector<double> v(NumElements(in.shape));
    for (double& x : v) x = u(rng);
    out.push_back(Tensor::FromVector(v, in.shape, dtype));
  }
  return out;
}

std::vector<Tensor> OnDevice(const std::vector<Tensor>& xs, Device d) {
  std::vector<Tensor> out;
  for (const Tensor& x : xs) out.push_back(x.To(d));
  return out;
}

TEST_P(DeviceOps, ForwardMatchesTheCpu) {
  const OpCase op = Cases()[GetParam().op];
  for (DType dtype : {DType::kFloat32, DType::kFloat64}) {
    SCOPED_TRACE(DTypeName(dtype));
    NoGradGuard no_grad;
    const std::vector<Tensor> host = RandomInputs(op, dtype, 1234 + GetParam().op);
    const Tensor want = op.f(host, Device::CPU());
    const Tensor got = op.f(OnDevice(host, device_), device_);
    EXPECT_EQ(got.device(), device_) << op.name << ": the result left the device";
    ASSERT_EQ(got.shape(), want.shape()) << op.name;
    ASSERT_EQ(got.dtype(), want.dtype()) << op.name;
    const std::vector<double> g = got.ToVector(), w = want.ToVector();
    if (exact()) {
      EXPECT_EQ(g, w) << op.name;
      continue;
    }
    double scale = 1;
    for (double x : w) scale = std::max(scale, std::abs(x));
    const double tol = (dtype == DType::kFloat32 ? 2e-4 : 1e-10) * scale;
    int failures = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      if (!(std::abs(g[i] - w[i]) <= tol) && ++failures <= 5) {
        ADD_FAILURE() << op.name << " element " << i << ": " << g[i] << " on "
                      << device_.ToString() << ", " << w[i] << " on the CPU (tolerance " << tol
                      << ")";
      }
    }
  }
}

TEST_P(DeviceOps, Float64GradientsOnTheDeviceMatchFiniteDifferences) {
  const OpCase op = Cases()[GetParam().op];
  if (!op.differentiable) GTEST_SKIP() << op.name << " has no gradient";
  const Device d = device_;
  const OpFn f = op.f;
  GradcheckOptions options;
  options.seed = 99;
  const GradcheckResult r = Gradcheck(
      [&](const std::vector<Tensor>& xs) { return f(OnDevice(xs, d), d).To(Device::CPU()); },
      RandomInputs(op, DType::kFloat64, 777 + GetParam().op), options);
  EXPECT_TRUE(r.status.ok()) << op.name << " on " << d.ToString() << ": " << r.status;
  EXPECT_GT(r.elements_checked, 0) << op.name;
}

std::vector<Param> AllParams() {
  std::vector<Param> out;
  for (const char* device : {"test:0", "cuda:0"}) {
    for (size_t i = 0; i < Cases().size(); ++i) out.push_back({device, i});
  }
  return out;
}

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  std::string device = info.param.device;
  device[device.find(':')] = '_';
  return device + "_" + Cases()[info.param.op].name;
}

INSTANTIATE_TEST_SUITE_P(Ops, DeviceOps, ::testing::ValuesIn(AllParams()), ParamName);

// ---------------------------------------------------------------- optimisers

class DeviceOptimizers : public ::testing::TestWithParam<std::string> {};

TEST_P(DeviceOptimizers, SgdAndAdamStepsMatchTheCpu) {
  std::unique_ptr<testing::ScopedHostAsDevice> disguise;
  Device d;
  if (GetParam() == "cuda:0") {
    if (cuda::GpuCount() == 0) GTEST_SKIP() << "no GPU: " << cuda::NoGpuReason();
    d = Device{Device::Type::kCUDA, 0};
  } else {
    disguise = std::make_unique<testing::ScopedHostAsDevice>();
    d = testing::kHostAsDevice;
  }
  ScopedThreads one_thread(1);
  for (DType dtype : {DType::kFloat32, DType::kFloat64}) {
    for (bool adam : {false, true}) {
      SCOPED_TRACE(std::string(DTypeName(dtype)) + (adam ? " adam" : " sgd"));
      const std::vector<double> init = {0.5, -1.25, 2.0, 0.125, -0.75, 1.5};
      const std::vector<double> coef = {1.0, -2.0, 0.5, 3.0, -0.25, 0.75};
      auto train = [&](Device where) {
        Tensor p = Tensor::FromVector(init, {2, 3}, dtype, where);
        p.set_requires_grad(true);
        const Tensor c = Tensor::FromVector(coef, {2, 3}, dtype, where);
        std::unique_ptr<optim::Optimizer> opt;
        if (adam) {
          opt = std::make_unique<optim::Adam>(std::vector<Tensor>{p},
                                              optim::AdamOptions{.lr = 0.1, .weight_decay = 0.01});
        } else {
          opt = std::make_unique<optim::Sgd>(
              std::vector<Tensor>{p},
              optim::SgdOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});
        }
        for (int step = 0; step < 3; ++step) {
          opt->ZeroGrad();
          Sum(Mul(Mul(p, p), c)).Backward();
          opt->Step();
        }
        EXPECT_EQ(p.device(), where);
        return p.ToVector();
      };
      const std::vector<double> want = train(Device::CPU()), got = train(d);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        if (d.type == Device::Type::kTest) {
          EXPECT_EQ(got[i], want[i]) << i;
        } else {
          EXPECT_NEAR(got[i], want[i], (dtype == DType::kFloat32 ? 1e-5 : 1e-12) * (1 + std::abs(want[i])))
              << i;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, DeviceOptimizers, ::testing::Values("test:0", "cuda:0"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string s = info.param;
                           s[s.find(':')] = '_';
                           return s;
                         });

}  // namespace
}  // namespace mt
