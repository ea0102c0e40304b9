// The dispatch table and device-aware storage: a fake second device type (Device::Type::kTest,
// host memory with its own kernels) shows that ops on its tensors reach its kernels, that
// creation functions and To() honour the device, and that a missing kernel is a clear error.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/allocator.h"
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "gtest/gtest.h"

namespace mt {
namespace {

const Device kTestDevice{Device::Type::kTest, 0};

// Host memory under the fake device's name, counting what it hands out.
class CountingAllocator : public Allocator {
 public:
  void* Allocate(size_t nbytes) override {
    ++allocations;
    return std::malloc(nbytes == 0 ? 1 : nbytes);
  }
  void Free(void* ptr, size_t) override {
    ++frees;
    std::free(ptr);
  }
  int allocations = 0, frees = 0;
};

struct FakeCalls {
  int unary = 0, fill = 0, copy = 0, binary = 0;
  kernels::UnaryOp last_unary = kernels::UnaryOp::kCopy;
};
FakeCalls calls;

// The fake device's Unary writes a marker (so the test can tell its output from the CPU's).
void FakeUnary(const kernels::Context&, DType dtype, kernels::UnaryOp op, int ndim,
               const int64_t* shape, const void*, const int64_t*, void* out) {
  ++calls.unary;
  calls.last_unary = op;
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  ASSERT_EQ(dtype, DType::kFloat32);
  for (int64_t i = 0; i < n; ++i) static_cast<float*>(out)[i] = 42.0f;
}

void FakeFill(const kernels::Context&, DType dtype, void* out, int64_t n, double value) {
  ++calls.fill;
  ASSERT_EQ(dtype, DType::kFloat32);
  for (int64_t i = 0; i < n; ++i) static_cast<float*>(out)[i] = static_cast<float>(value);
}

void FakeCopy(const kernels::Context&, void* dst, Device dst_device, const void* src,
              Device src_device, size_t nbytes) {
  ++calls.copy;
  // Exactly one side is the fake device: the table picks the non-CPU side's kernel.
  EXPECT_TRUE(dst_device == kTestDevice || src_device == kTestDevice);
  std::memcpy(dst, src, nbytes);
}

// Dense copies on the fake device (contiguous sources only, which is all these tests make).
void FakeStridedCopy(const kernels::Context&, size_t elem_size, int ndim, const int64_t* shape,
                     const void* in, const int64_t* in_strides, void* out) {
  int64_t n = 1, expected_stride = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    EXPECT_TRUE(shape[d] == 1 || in_strides[d] == expected_stride);
    expected_stride *= shape[d];
    n *= shape[d];
  }
  std::memcpy(out, in, n * elem_size);
}

// a + b on the fake device, elementwise over contiguous same-shape operands.
void FakeBinary(const kernels::Context&, DType, kernels::BinaryOp op, int ndim,
                const int64_t* shape, const void* a, const int64_t*, const void* b,
                const int64_t*, void* out) {
  ++calls.binary;
  ASSERT_EQ(op, kernels::BinaryOp::kAdd);
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  for (int64_t i = 0; i < n; ++i) {
    static_cast<float*>(out)[i] = static_cast<const float*>(a)[i] + static_cast<const float*>(b)[i];
  }
}

class FakeDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    calls = FakeCalls{};
    SetAllocator(Device::Type::kTest, &allocator_);
    dispatch::Register<dispatch::UnaryKernel>(Device::Type::kTest, &FakeUnary);
    dispatch::Register<dispatch::FillKernel>(Device::Type::kTest, &FakeFill);
    dispatch::Register<dispatch::DeviceCopyKernel>(Device::Type::kTest, &FakeCopy);
    dispatch::Register<dispatch::BinaryKernel>(Device::Type::kTest, &FakeBinary);
    dispatch::Register<dispatch::StridedCopyKernel>(Device::Type::kTest, &FakeStridedCopy);
  }
  void TearDown() override {
    dispatch::Register<dispatch::UnaryKernel>(Device::Type::kTest, nullptr);
    dispatch::Register<dispatch::FillKernel>(Device::Type::kTest, nullptr);
    dispatch::Register<dispatch::DeviceCopyKernel>(Device::Type::kTest, nullptr);
    dispatch::Register<dispatch::BinaryKernel>(Device::Type::kTest, nullptr);
    dispatch::Register<dispatch::StridedCopyKernel>(Device::Type::kTest, nullptr);
    SetAllocator(Device::Type::kTest, nullptr);
  }
  CountingAllocator allocator_;
};

TEST_F(FakeDeviceTest, OpOnFakeDeviceReachesItsKernel) {
  Tensor x = Tensor::Full({2, 3}, -1.0, DType::kFloat32, kTestDevice);
  EXPECT_EQ(x.device(), kTestDevice);
  EXPECT_EQ(calls.fill, 1);
  EXPECT_EQ(allocator_.allocations, 1);
  Tensor y = Relu(x);
  EXPECT_EQ(calls.unary, 1);
  EXPECT_EQ(calls.last_unary, kernels::UnaryOp::kRelu);
  // The output lives on the input's device, and holds what the fake kernel wrote (the CPU's
  // Relu of -1 would be 0).
  EXPECT_EQ(y.device(), kTestDevice);
  EXPECT_EQ(y.ToVector(), std::vector<double>(6, 42.0));
  // The same op on the CPU does not touch the fake kernel.
  Tensor c = Relu(Tensor::Full({2, 3}, -1.0));
  EXPECT_EQ(calls.unary, 1);
  EXPECT_EQ(c.ToVector(), std::vector<double>(6, 0.0));
}

TEST_F(FakeDeviceTest, CreationFunctionsAndToHonourTheDevice) {
  Tensor v = Tensor::FromVector({1, 2, 3, 4}, {2, 2}, DType::kFloat32, kTestDevice);
  EXPECT_EQ(v.device(), kTestDevice);
  EXPECT_GE(calls.copy, 1);  // host values copied over
  EXPECT_EQ(v.ToVector(), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(Tensor::Zeros({3}, DType::kFloat32, kTestDevice).device(), kTestDevice);
  EXPECT_EQ(Tensor::Ones({3}, DType::kFloat32, kTestDevice).ToVector(),
            (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(Tensor::Scalar(5, DType::kFloat32, kTestDevice).item(), 5.0);
  EXPECT_EQ(Tensor::Arange(3, DType::kFloat32, kTestDevice).ToVector(),
            (std::vector<double>{0, 1, 2}));

  Tensor host = Tensor::FromVector({1.5, -2}, {2});
  EXPECT_TRUE(host.To(Device::CPU()).SameAs(host));  // same device: the same tensor
  Tensor there = host.To(kTestDevice);
  EXPECT_EQ(there.device(), kTestDevice);
  Tensor back = there.To(Device::CPU());
  EXPECT_EQ(back.device(), Device::CPU());
  EXPECT_EQ(back.ToVector(), (std::vector<double>{1.5, -2}));
}

TEST_F(FakeDeviceTest, GradientsFlowBackThroughTo) {
  Tensor a = Tensor::FromVector({1, 2, 3}, {3}).set_requires_grad(true);
  Tensor b = Tensor::FromVector({10, 20, 30}, {3}, DType::kFloat32, kTestDevice);
  Tensor s = Add(a.To(kTestDevice), b);  // runs the fake Binary
  EXPECT_EQ(calls.binary, 1);
  EXPECT_EQ(s.device(), kTestDevice);
  EXPECT_EQ(s.ToVector(), (std::vector<double>{11, 22, 33}));
  // d(sum(s * w))/da = w, brought back to the CPU by To's backward.
  Tensor w = Tensor::FromVector({1, -1, 2}, {3}, DType::kFloat32, kTestDevice);
  s.Backward(w);
  ASSERT_TRUE(a.grad().defined());
  EXPECT_EQ(a.grad().device(), Device::CPU());
  EXPECT_EQ(a.grad().ToVector(), (std::vector<double>{1, -1, 2}));
}

TEST_F(FakeDeviceTest, MissingKernelIsAClearError) {
  Tensor x = Tensor::Zeros({4}, DType::kFloat32, kTestDevice);
  try {
    Sum(x);
    FAIL() << "Sum on a device without a SumDim kernel should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no SumDim kernel for device test:0"), std::string::npos)
        << e.what();
  }
  // Mixing devices in one op is refused before any kernel runs.
  EXPECT_THROW(Add(x, Tensor::Zeros({4})), Error);
}

TEST(Dispatch, DeviceWithoutAllocatorIsRefused) {
  try {
    Tensor::Empty({2}, DType::kFloat32, Device{Device::Type::kCUDA, 0});
    FAIL() << "no CUDA allocator in this build";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("storage on cuda:0 is not supported"), std::string::npos)
        << e.what();
  }
}

TEST(Dispatch, AvailableDevicesListsTheCpu) {
  const std::vector<Device> devices = AvailableDevices();
  ASSERT_FALSE(devices.empty());
  EXPECT_EQ(devices[0], Device::CPU());
  for (const Device& d : devices) EXPECT_NE(d.type, Device::Type::kTest);
}

}  // namespace
}  // namespace mt
