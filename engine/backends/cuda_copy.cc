// The copy kernel between the host and GPUs (and between GPUs), registered for the CUDA device
// type. The kernels that compute (kernels/cuda) are registered in backends/cuda.cc; this one
// only moves bytes through the runtime (engine/cuda/runtime.h), so it is plain C++.
//
// Ordering: the copy is queued on the calling thread's stream for the GPU side (ctx.stream), so
// it runs after the kernels queued before it and before those queued after it, without a
// synchronisation. A copy to host memory is different: the caller reads the bytes as soon as
// this returns (ToVector, item()), so it waits for the stream: in a training step, when the
// loss is read.
#include "absl/strings/str_cat.h"
#include "engine/cuda/runtime.h"
#include "engine/dispatch.h"
#include "engine/error.h"

namespace mt::dispatch {
namespace {

void CudaDeviceCopy(const Context& ctx, void* dst, Device dst_device, const void* src,
                    Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  absl::Status s = cuda::MemcpyAsync(dst, src, nbytes, ctx.stream);
  if (s.ok() && dst_device.type == Device::Type::kCPU) s = cuda::StreamSynchronize(ctx.stream);
  if (!s.ok()) {
    throw DeviceError(absl::StrCat("copying ", nbytes, " bytes from ", src_device.ToString(),
                                   " to ", dst_device.ToString(), " failed: ", s.message()));
  }
}

}  // namespace

void RegisterCudaRuntimeKernels() {
  if (!cuda::BuiltWithCuda()) return;
  // Straight into the table: Register() would re-enter EnsureBuiltinKernels, which calls this.
  Slots<DeviceCopyKernel>()[static_cast<int>(Device::Type::kCUDA)].store(
      &CudaDeviceCopy, std::memory_order_release);
}

}  // namespace mt::dispatch
