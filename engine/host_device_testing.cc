#include "engine/host_device_testing.h"

#include "engine/allocator.h"
#include "engine/dispatch.h"

namespace mt::testing {
namespace {

class CountingHostAllocator : public Allocator {
 public:
  void* Allocate(size_t nbytes) override {
    ++count;
    return host.Allocate(nbytes);
  }
  void Free(void* ptr, size_t nbytes) override { host.Free(ptr, nbytes); }
  AlignedCpuAllocator host;
  std::atomic<int64_t> count{0};
};

CountingHostAllocator* g_allocator = nullptr;

template <typename... Ops>
void CopyCpuKernels(bool install) {
  (dispatch::Register<Ops>(Device::Type::kTest,
                           install ? dispatch::Find<Ops>(Device::Type::kCPU) : nullptr),
   ...);
}

void AllKernels(bool install) {
  using namespace dispatch;  // NOLINT: the list below reads better unqualified
  CopyCpuKernels<UnaryKernel, BinaryKernel, FillKernel, StridedCopyKernel, CastKernel,
                 CopyIntoSliceKernel, DeviceCopyKernel, SumDimKernel, MaxDimKernel,
                 MaxDimBackwardKernel, IndexCheckKernel, OneHotKernel, BatchedGemmKernel,
                 Conv2dForwardKernel, Conv2dBackwardInputKernel, Conv2dBackwardWeightKernel,
                 Conv2dKeptColumnsSizeKernel, Conv2dForwardKeepColumnsKernel,
                 Conv2dBackwardWeightFromColumnsKernel,
                 MaxPool2dForwardKernel, MaxPool2dBackwardKernel, AvgPool2dForwardKernel,
                 AvgPool2dBackwardKernel,
                 SoftmaxForwardKernel, SoftmaxBackwardKernel, DropoutMaskKernel,
                 NllLossForwardKernel, NllLossBackwardKernel, EmbeddingForwardKernel,
                 EmbeddingBackwardKernel, SgdStepKernel, AdamStepKernel>(install);
}

}  // namespace

ScopedHostAsDevice::ScopedHostAsDevice() {
  MT_CHECK(g_allocator == nullptr, "ScopedHostAsDevice: one at a time");
  g_allocator = new CountingHostAllocator();
  SetAllocator(Device::Type::kTest, g_allocator);
  AllKernels(true);
}

ScopedHostAsDevice::~ScopedHostAsDevice() {
  AllKernels(false);
  SetAllocator(Device::Type::kTest, nullptr);
  // Tensors made on the device must be gone by now (the test's scope ended first); the
  // allocator itself is leaked on purpose in case one is not, rather than freed under it.
  g_allocator = nullptr;
}

int64_t ScopedHostAsDevice::allocations() const { return g_allocator ? g_allocator->count.load() : 0; }

}  // namespace mt::testing
