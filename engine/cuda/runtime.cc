#include "engine/cuda/runtime.h"

#include "absl/strings/str_cat.h"

#ifdef MT_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace mt::cuda {

#ifdef MT_HAVE_CUDA

namespace {

// "cudaMalloc: out of memory (error 2)".
std::string Describe(const char* call, cudaError_t e) {
  return absl::StrCat(call, ": ", cudaGetErrorString(e), " (error ", static_cast<int>(e), ")");
}

absl::Status ToStatus(const char* call, cudaError_t e) {
  if (e == cudaSuccess) return absl::OkStatus();
  if (e == cudaErrorMemoryAllocation) return absl::ResourceExhaustedError(Describe(call, e));
  return absl::InternalError(Describe(call, e));
}

struct Discovery {
  int count = 0;
  std::string reason;
};

const Discovery& Discover() {
  static const Discovery* d = [] {
    auto* out = new Discovery();
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      // The runtime keeps this error sticky for cudaGetLastError; clear it so that a later,
      // unrelated check does not report it.
      (void)cudaGetLastError();
      out->reason = absl::StrCat("no usable CUDA driver or GPU on this machine (",
                                 Describe("cudaGetDeviceCount", e), ")");
    } else if (n == 0) {
      out->reason = "the CUDA driver reports no GPU on this machine";
    } else {
      out->count = n;
    }
    return out;
  }();
  return *d;
}

// Runs f with `index` as the calling thread's current device, then restores the previous one.
template <typename F>
absl::Status OnDevice(int index, F&& f) {
  if (absl::Status s = CheckIndex(index); !s.ok()) return s;
  int previous = 0;
  if (cudaError_t e = cudaGetDevice(&previous); e != cudaSuccess) {
    return ToStatus("cudaGetDevice", e);
  }
  if (previous != index) {
    if (cudaError_t e = cudaSetDevice(index); e != cudaSuccess) return ToStatus("cudaSetDevice", e);
  }
  absl::Status s = f();
  if (previous != index) (void)cudaSetDevice(previous);
  return s;
}

}  // namespace

bool BuiltWithCuda() { return true; }
int GpuCount() { return Discover().count; }
std::string NoGpuReason() { return Discover().reason; }

absl::StatusOr<GpuProperties> Properties(int index) {
  if (absl::Status s = CheckIndex(index); !s.ok()) return s;
  cudaDeviceProp p{};
  if (cudaError_t e = cudaGetDeviceProperties(&p, index); e != cudaSuccess) {
    return ToStatus("cudaGetDeviceProperties", e);
  }
  GpuProperties out;
  out.index = index;
  out.name = p.name;
  out.total_memory_bytes = static_cast<int64_t>(p.totalGlobalMem);
  out.compute_major = p.major;
  out.compute_minor = p.minor;
  out.multiprocessors = p.multiProcessorCount;
  return out;
}

absl::StatusOr<GpuMemoryInfo> MemoryInfo(int index) {
  GpuMemoryInfo info;
  absl::Status s = OnDevice(index, [&] {
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaError_t e = cudaMemGetInfo(&free_bytes, &total_bytes); e != cudaSuccess) {
      return ToStatus("cudaMemGetInfo", e);
    }
    info.free_bytes = static_cast<int64_t>(free_bytes);
    info.total_bytes = static_cast<int64_t>(total_bytes);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return info;
}

absl::Status SetDevice(int index) {
  if (absl::Status s = CheckIndex(index); !s.ok()) return s;
  return ToStatus("cudaSetDevice", cudaSetDevice(index));
}

absl::StatusOr<int> CurrentDevice() {
  if (GpuCount() == 0) return absl::FailedPreconditionError(NoGpuReason());
  int index = 0;
  if (cudaError_t e = cudaGetDevice(&index); e != cudaSuccess) return ToStatus("cudaGetDevice", e);
  return index;
}

absl::StatusOr<void*> Malloc(int index, size_t nbytes) {
  void* p = nullptr;
  absl::Status s = OnDevice(index, [&] {
    const cudaError_t e = cudaMalloc(&p, nbytes == 0 ? 1 : nbytes);
    if (e == cudaErrorMemoryAllocation) (void)cudaGetLastError();  // not sticky; clear it
    return ToStatus("cudaMalloc", e);
  });
  if (!s.ok()) return s;
  return p;
}

absl::Status Free(int index, void* ptr) {
  return OnDevice(index, [&] { return ToStatus("cudaFree", cudaFree(ptr)); });
}

absl::StatusOr<void*> HostAllocPinned(size_t nbytes) {
  if (GpuCount() == 0) return absl::FailedPreconditionError(NoGpuReason());
  void* p = nullptr;
  const cudaError_t e = cudaHostAlloc(&p, nbytes == 0 ? 1 : nbytes, cudaHostAllocPortable);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return ToStatus("cudaHostAlloc", e);
  }
  return p;
}

absl::Status HostFreePinned(void* ptr) { return ToStatus("cudaFreeHost", cudaFreeHost(ptr)); }

absl::StatusOr<void*> StreamCreate(int index) {
  cudaStream_t stream = nullptr;
  absl::Status s = OnDevice(index, [&] {
    return ToStatus("cudaStreamCreateWithFlags",
                    cudaStreamCreateWithFlags(&stream, cudaStreamDefault));
  });
  if (!s.ok()) return s;
  return static_cast<void*>(stream);
}

absl::Status StreamSynchronize(void* stream) {
  return ToStatus("cudaStreamSynchronize",
                  cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
}

absl::Status StreamDestroy(void* stream) {
  if (stream == nullptr) return absl::OkStatus();
  return ToStatus("cudaStreamDestroy", cudaStreamDestroy(static_cast<cudaStream_t>(stream)));
}

absl::Status DeviceSynchronize(int index) {
  return OnDevice(index, [] { return ToStatus("cudaDeviceSynchronize", cudaDeviceSynchronize()); });
}

absl::Status MemcpyAsync(void* dst, const void* src, size_t nbytes, void* stream) {
  if (nbytes == 0) return absl::OkStatus();
  return ToStatus("cudaMemcpyAsync", cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDefault,
                                                     static_cast<cudaStream_t>(stream)));
}

absl::StatusOr<void*> EventCreate() {
  if (GpuCount() == 0) return absl::FailedPreconditionError(NoGpuReason());
  cudaEvent_t event = nullptr;
  if (cudaError_t e = cudaEventCreateWithFlags(&event, cudaEventDisableTiming); e != cudaSuccess) {
    return ToStatus("cudaEventCreateWithFlags", e);
  }
  return static_cast<void*>(event);
}

absl::Status EventRecord(void* event, void* stream) {
  return ToStatus("cudaEventRecord", cudaEventRecord(static_cast<cudaEvent_t>(event),
                                                     static_cast<cudaStream_t>(stream)));
}

absl::Status EventSynchronize(void* event) {
  return ToStatus("cudaEventSynchronize", cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
}

absl::Status EventDestroy(void* event) {
  if (event == nullptr) return absl::OkStatus();
  return ToStatus("cudaEventDestroy", cudaEventDestroy(static_cast<cudaEvent_t>(event)));
}

absl::Status LastError() { return ToStatus("kernel launch", cudaGetLastError()); }

#else  // !MT_HAVE_CUDA: the same API, answering "no GPU".

namespace {
constexpr char kNoCuda[] =
    "this build of mt has no CUDA (nvcc was not found when it was built; install the CUDA "
    "Toolkit and rebuild)";
absl::Status NoCuda() { return absl::FailedPreconditionError(kNoCuda); }
}  // namespace

bool BuiltWithCuda() { return false; }
int GpuCount() { return 0; }
std::string NoGpuReason() { return kNoCuda; }
absl::StatusOr<GpuProperties> Properties(int) { return NoCuda(); }
absl::StatusOr<GpuMemoryInfo> MemoryInfo(int) { return NoCuda(); }
absl::Status SetDevice(int) { return NoCuda(); }
absl::StatusOr<int> CurrentDevice() { return NoCuda(); }
absl::StatusOr<void*> Malloc(int, size_t) { return NoCuda(); }
absl::Status Free(int, void*) { return NoCuda(); }
absl::StatusOr<void*> HostAllocPinned(size_t) { return NoCuda(); }
absl::Status HostFreePinned(void*) { return NoCuda(); }
absl::StatusOr<void*> StreamCreate(int) { return NoCuda(); }
absl::Status StreamSynchronize(void*) { return NoCuda(); }
absl::Status StreamDestroy(void*) { return NoCuda(); }
absl::Status DeviceSynchronize(int) { return NoCuda(); }
absl::Status MemcpyAsync(void*, const void*, size_t, void*) { return NoCuda(); }
absl::StatusOr<void*> EventCreate() { return NoCuda(); }
absl::Status EventRecord(void*, void*) { return NoCuda(); }
absl::Status EventSynchronize(void*) { return NoCuda(); }
absl::Status EventDestroy(void*) { return NoCuda(); }
absl::Status LastError() { return absl::OkStatus(); }

#endif  // MT_HAVE_CUDA

absl::Status CheckIndex(int index) {
  const int n = GpuCount();
  if (n == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cuda:", index, " is not available: ", NoGpuReason()));
  }
  if (index < 0 || index >= n) {
    return absl::InvalidArgumentError(absl::StrCat("cuda:", index, " does not exist: this machine has ", n,
                                                   n == 1 ? " GPU (cuda:0)" : " GPUs (cuda:0 to cuda:",
                                                   n == 1 ? "" : absl::StrCat(n - 1, ")")));
  }
  return absl::OkStatus();
}

}  // namespace mt::cuda
