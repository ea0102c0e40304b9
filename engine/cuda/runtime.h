// The CUDA runtime as the engine and the daemon use it: which GPUs exist (name, memory,
// compute capability), memory, streams, events and copies, each call returning absl::Status
// instead of a cudaError_t. Plain C++ over cuda_runtime.h (compiled by the host compiler, not
// nvcc); in a build without CUDA every function still exists and says "no GPU".
//
// "No GPU" is a normal answer, never a crash: a binary built with CUDA on a machine without a
// driver (cudaGetDeviceCount fails with "driver version is insufficient") reports GpuCount() == 0
// and NoGpuReason() says why, in words a user can act on. Nothing here throws.
#ifndef MT_ENGINE_CUDA_RUNTIME_H_
#define MT_ENGINE_CUDA_RUNTIME_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt::cuda {

// True when this binary was built with the CUDA runtime (nvcc found at build time).
bool BuiltWithCuda();

// GPUs this process can use; 0 without CUDA, a driver or a GPU. Asked once, then cached.
int GpuCount();

// Why GpuCount() is 0 (empty when it is not), e.g. "no usable CUDA driver on this machine
// (cudaGetDeviceCount: CUDA driver version is insufficient for CUDA runtime version, error 35)".
std::string NoGpuReason();

struct GpuProperties {
  int index = 0;
  std::string name;              // "NVIDIA H200"
  int64_t total_memory_bytes = 0;
  int compute_major = 0, compute_minor = 0;  // compute capability, e.g. 9.0
  int multiprocessors = 0;
};

// FailedPrecondition (NoGpuReason) without GPUs; InvalidArgument for an index out of range.
absl::StatusOr<GpuProperties> Properties(int index);

struct GpuMemoryInfo {
  int64_t free_bytes = 0;   // free on the device, all processes counted
  int64_t total_bytes = 0;
};
// Creates the device's context on first use (a few hundred MB of device memory).
absl::StatusOr<GpuMemoryInfo> MemoryInfo(int index);

// "cuda:N does not exist: this machine has 1 GPU (cuda:0)" / "... has no GPU: <reason>".
absl::Status CheckIndex(int index);

// The calling thread's current device (kernels launch there).
absl::Status SetDevice(int index);
absl::StatusOr<int> CurrentDevice();

// Device memory on GPU `index` (the calling thread's current device is left unchanged).
// ResourceExhausted when the device is full.
absl::StatusOr<void*> Malloc(int index, size_t nbytes);
absl::Status Free(int index, void* ptr);

// Page-locked host memory (fast, truly asynchronous transfers).
absl::StatusOr<void*> HostAllocPinned(size_t nbytes);
absl::Status HostFreePinned(void* ptr);

// Streams are opaque (cudaStream_t as void*); null is the legacy default stream. Streams made
// here synchronise with the default stream (cudaStreamDefault), which the caching allocator
// relies on (see device_pool.h).
absl::StatusOr<void*> StreamCreate(int index);
absl::Status StreamSynchronize(void* stream);
absl::Status StreamDestroy(void* stream);
absl::Status DeviceSynchronize(int index);

// nbytes between any two of host, device and pinned memory (unified addressing), ordered on
// `stream`. From or to pageable host memory the call returns once the host side is done with;
// to or from pinned memory it may return before the copy has happened.
absl::Status MemcpyAsync(void* dst, const void* src, size_t nbytes, void* stream);

// Events, for knowing when a stream has passed a point (e.g. a pinned buffer may be reused).
absl::StatusOr<void*> EventCreate();  // timing disabled: cheapest
absl::Status EventRecord(void* event, void* stream);
absl::Status EventSynchronize(void* event);
absl::Status EventDestroy(void* event);

// The error of the last launch on this thread (cudaGetLastError), OK when none.
absl::Status LastError();

}  // namespace mt::cuda

#endif  // MT_ENGINE_CUDA_RUNTIME_H_
