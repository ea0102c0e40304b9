// The executor that runs kernel ops on a GPU (see body.h): a generic __global__ that hands the
// hardware's indices to an op, cuBLAS for GEMMs (one handle per stream, cached), and scratch
// from the installed ScratchAllocator. Included only by .cu files.
#ifndef MT_KERNELS_CUDA_DEVICE_EXEC_CUH_
#define MT_KERNELS_CUDA_DEVICE_EXEC_CUH_

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/context.h"
#include "kernels/cuda/body.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/cublas_loader.h"
#include "kernels/cuda/scratch.h"

namespace mt::kernels::cuda {

// The thread context of a real kernel.
struct DeviceThread {
  __device__ __forceinline__ int tid() const { return threadIdx.x; }
  __device__ __forceinline__ int bid() const { return blockIdx.x; }
  __device__ __forceinline__ int bid_y() const { return blockIdx.y; }
  __device__ __forceinline__ int nthreads() const { return blockDim.x; }
  __device__ __forceinline__ int nblocks() const { return gridDim.x; }
  __device__ __forceinline__ int nblocks_y() const { return gridDim.y; }
  __device__ __forceinline__ void sync() const { __syncthreads(); }
  template <typename T>
  __device__ __forceinline__ T* shared() const {
    extern __shared__ __align__(16) unsigned char mt_dynamic_shared[];
    return reinterpret_cast<T*>(mt_dynamic_shared);
  }
};

// Every launch uses at most this many threads per block (body.h's kBlock, kReduceBlock), which
// lets ptxas give 64-bit index arithmetic the registers it needs without spilling.
constexpr int kMaxThreadsPerBlock = 256;

// One kernel per op type: the op travels by value as the kernel's parameter block.
template <typename Op>
__global__ void __launch_bounds__(kMaxThreadsPerBlock) RunOp(const Op op) {
  op(DeviceThread{});
}

// The cuBLAS handle of the calling thread's current device for `stream`, created on first use
// and kept (creating one costs milliseconds and allocates).
cublasHandle_t CublasHandle(cudaStream_t stream);

void CheckCublas(cublasStatus_t status, const char* call, const char* file, int line);
#define CUBLAS_CHECK(call) ::mt::kernels::cuda::CheckCublas((call), #call, __FILE__, __LINE__)

class DeviceExec {
 public:
  explicit DeviceExec(const Context& ctx) : stream_(static_cast<cudaStream_t>(ctx.stream)) {}

  cudaStream_t stream() const { return stream_; }

  template <typename Op>
  void Launch(Grid grid, int block, size_t shared_bytes, const Op& op) const {
    if (grid.x <= 0 || grid.y <= 0) return;
    if (block > kMaxThreadsPerBlock) throw std::invalid_argument("block size above 256");
    RunOp<Op><<<dim3(static_cast<unsigned>(grid.x), static_cast<unsigned>(grid.y)), block,
                shared_bytes, stream_>>>(op);
    CUDA_CHECK_LAUNCH();
  }

  // cublas<T>gemmStridedBatched: column-major C_p = alpha op(A_p) op(B_p) + beta C_p.
  void GemmColMajor(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                    int lda, int64_t stride_a, const float* b, int ldb, int64_t stride_b,
                    float beta, float* c, int ldc, int64_t stride_c, int batch) const {
    CUBLAS_CHECK(
        Cublas().sgemm_strided_batched(CublasHandle(stream_), trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, a, lda,
                                  stride_a, b, ldb, stride_b, &beta, c, ldc, stride_c, batch));
  }
  void GemmColMajor(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a,
                    int lda, int64_t stride_a, const double* b, int ldb, int64_t stride_b,
                    double beta, double* c, int ldc, int64_t stride_c, int batch) const {
    CUBLAS_CHECK(
        Cublas().dgemm_strided_batched(CublasHandle(stream_), trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, a, lda,
                                  stride_a, b, ldb, stride_b, &beta, c, ldc, stride_c, batch));
  }

  // `count` elements of T of scratch, returned to the allocator (stream-ordered) at scope exit.
  template <typename T>
  class ScratchBuffer {
   public:
    ScratchBuffer(size_t count, cudaStream_t stream) : stream_(stream) {
      if (count > 0)
        ptr_ = static_cast<T*>(GetScratchAllocator().Allocate(count * sizeof(T), stream));
    }
    ~ScratchBuffer() {
      if (ptr_ != nullptr) GetScratchAllocator().Free(ptr_, stream_);
    }
    ScratchBuffer(const ScratchBuffer&) = delete;
    ScratchBuffer& operator=(const ScratchBuffer&) = delete;
    T* get() const { return ptr_; }

   private:
    cudaStream_t stream_;
    T* ptr_ = nullptr;
  };
  template <typename T>
  ScratchBuffer<T> Scratch(size_t count) const {
    return ScratchBuffer<T>(count, stream_);
  }

  // Waits for the stream, then copies device memory to the host.
  void CopyToHost(void* dst, const void* src, size_t bytes) const {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

 private:
  cudaStream_t stream_;
};

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_DEVICE_EXEC_CUH_
