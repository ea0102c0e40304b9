// Proves the cuda_library toolchain: one kernel compiled for every target architecture with
// warnings and spills as errors, and a host function that links libcudart.
#include <cuda_runtime_api.h>

#include "third_party/cuda/nvcc_smoke.h"

namespace mt::cuda_smoke {
namespace {

// x (n) += 1
__global__ void AddOne(float* x, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    x[i] += 1.0f;
  }
}

}  // namespace

int DeviceCountOrError() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) return -static_cast<int>(status);
  if (count > 0) {
    AddOne<<<1, 32>>>(nullptr, 0);
    if (cudaGetLastError() != cudaSuccess) return -1;
  }
  return count;
}

}  // namespace mt::cuda_smoke
