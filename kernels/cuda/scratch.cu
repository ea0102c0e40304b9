// The scratch allocator hook, the default stream-ordered pool, and the per-stream cuBLAS
// handle cache shared by every launcher.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

#include "kernels/cuda/check.h"
#include "kernels/cuda/cublas_loader.h"
#include "kernels/cuda/device_exec.cuh"
#include "kernels/cuda/scratch.h"

namespace mt::kernels::cuda {
namespace {

// cudaMallocAsync from the device's default memory pool, told to keep what is freed: after the
// first step, allocations are served from the pool without a driver call.
class PoolScratch : public ScratchAllocator {
 public:
  void* Allocate(size_t bytes, void* stream) override {
    int device = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    KeepFreedMemory(device);
    void* ptr = nullptr;
    CUDA_CHECK(cudaMallocAsync(&ptr, bytes, static_cast<cudaStream_t>(stream)));
    return ptr;
  }
  void Free(void* ptr, void* stream) override {
    CUDA_CHECK(cudaFreeAsync(ptr, static_cast<cudaStream_t>(stream)));
  }

 private:
  void KeepFreedMemory(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    if (device < 0 || device >= 64 || configured_[device]) return;
    cudaMemPool_t pool;
    CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
    uint64_t threshold = UINT64_MAX;
    CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
    configured_[device] = true;
  }
  std::mutex mu_;
  bool configured_[64] = {};
};

std::atomic<ScratchAllocator*> installed{nullptr};

}  // namespace

void SetScratchAllocator(ScratchAllocator* allocator) {
  installed.store(allocator, std::memory_order_release);
}

ScratchAllocator& GetScratchAllocator() {
  ScratchAllocator* a = installed.load(std::memory_order_acquire);
  if (a != nullptr) return *a;
  static PoolScratch* pool = new PoolScratch;  // never destroyed: used until process exit
  return *pool;
}

void CheckCublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw CudaError(CudaErrorMessage("cuBLAS error", Cublas().get_status_string(status), call, file,
                                    line),
                  status == CUBLAS_STATUS_ALLOC_FAILED);
}

cublasHandle_t CublasHandle(cudaStream_t stream) {
  static std::mutex mu;
  // Keyed by (device, stream): a handle is bound to the device current when it was created.
  static std::map<std::pair<int, cudaStream_t>, cublasHandle_t>* handles =
      new std::map<std::pair<int, cudaStream_t>, cublasHandle_t>;
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(mu);
  auto it = handles->find({device, stream});
  if (it != handles->end()) return it->second;
  cublasHandle_t handle = nullptr;
  CUBLAS_CHECK(Cublas().create(&handle));
  CUBLAS_CHECK(Cublas().set_stream(handle, stream));
  // Full fp32 products (no TF32), so GPU results match the CPU's within float rounding.
  CUBLAS_CHECK(Cublas().set_math_mode(handle, CUBLAS_DEFAULT_MATH));
  handles->emplace(std::make_pair(device, stream), handle);
  return handle;
}

}  // namespace mt::kernels::cuda
