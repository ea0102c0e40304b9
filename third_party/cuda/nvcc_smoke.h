// See nvcc_smoke.cu.
#ifndef MT_THIRD_PARTY_CUDA_NVCC_SMOKE_H_
#define MT_THIRD_PARTY_CUDA_NVCC_SMOKE_H_

namespace mt::cuda_smoke {

// The number of CUDA devices, or minus the cudaError_t when the runtime cannot tell (no driver).
int DeviceCountOrError();

}  // namespace mt::cuda_smoke

#endif  // MT_THIRD_PARTY_CUDA_NVCC_SMOKE_H_
