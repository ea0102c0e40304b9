// CUDA_CHECK / CUBLAS_CHECK: turn a failed CUDA runtime or cuBLAS call into an exception that names
// the call, the file and the line (llm.c's cudaCheck, with an exception instead of exit(): the
// daemon must fail one job, not the process). Kernels know nothing of the engine, so this is a
// std::runtime_error; engine/backends/cuda.cc converts it to mt::Error (mt::OutOfMemory for
// cudaErrorMemoryAllocation) at the dispatch boundary, as CPU kernels' std::bad_alloc is.
#ifndef MT_KERNELS_CUDA_CHECK_H_
#define MT_KERNELS_CUDA_CHECK_H_

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace mt::kernels::cuda {

class CudaError : public std::runtime_error {
 public:
  CudaError(const std::string& what, bool out_of_memory)
      : std::runtime_error(what), out_of_memory_(out_of_memory) {}
  // The device ran out of memory (the request was valid; the machine was full).
  bool out_of_memory() const { return out_of_memory_; }

 private:
  bool out_of_memory_;
};

inline std::string CudaErrorMessage(const char* what, const char* detail, const char* call,
                                    const char* file, int line) {
  return std::string(what) + " (" + detail + ") in " + call + " at " + file + ":" +
         std::to_string(line);
}

inline void CheckCuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw CudaError(CudaErrorMessage("CUDA error", cudaGetErrorString(status), call, file, line),
                  status == cudaErrorMemoryAllocation);
}

}  // namespace mt::kernels::cuda

#define CUDA_CHECK(call) ::mt::kernels::cuda::CheckCuda((call), #call, __FILE__, __LINE__)

// After a <<<...>>> launch: a bad configuration is reported by cudaGetLastError, not the launch.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#endif  // MT_KERNELS_CUDA_CHECK_H_
