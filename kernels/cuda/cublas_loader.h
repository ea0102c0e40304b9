// cuBLAS, opened on first use instead of linked: loading libcublasLt costs every engine
// process ~61 MB of resident memory (its relocated data) even when it never touches a GPU,
// a fifth of a CPU LeNet-5 training run's footprint. The CUDA code calls the few cuBLAS entry
// points it needs through this table; a process that never runs a GPU matmul never loads it.
#ifndef MT_KERNELS_CUDA_CUBLAS_LOADER_H_
#define MT_KERNELS_CUDA_CUBLAS_LOADER_H_

#include <cublas_v2.h>

namespace mt::kernels::cuda {

struct CublasApi {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasGetStatusString) get_status_string;
  decltype(&cublasSgemmStridedBatched) sgemm_strided_batched;
  decltype(&cublasDgemmStridedBatched) dgemm_strided_batched;
};

// The table, loading the library on the first call (thread-safe). Throws CudaError when the
// library or one of its symbols cannot be found, saying which and where it looked.
const CublasApi& Cublas();

// The file name Cublas() opens first (the soname of the cuBLAS these headers belong to).
const char* CublasLibraryName();

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_CUBLAS_LOADER_H_
