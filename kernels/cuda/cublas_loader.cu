#include "kernels/cuda/cublas_loader.h"

#include <dlfcn.h>

#include <string>

#include "kernels/cuda/check.h"

namespace mt::kernels::cuda {
namespace {

#define MT_STR2(x) #x
#define MT_STR(x) MT_STR2(x)

// The soname of the cuBLAS these headers are from: libcublas.so.<major>.
constexpr const char* kLibrary = "libcublas.so." MT_STR(CUBLAS_VER_MAJOR);

template <typename Fn>
void Resolve(void* library, const char* symbol, Fn* out) {
  void* p = dlsym(library, symbol);
  if (p == nullptr) {
    throw CudaError(std::string("cuBLAS: ") + kLibrary + " has no symbol " + symbol +
                        "; the CUDA toolkit installed does not match the one mt was built with",
                    false);
  }
  *out = reinterpret_cast<Fn>(p);
}

CublasApi Load() {
  // The dynamic linker's search (ld.so.cache, the binary's run path), then the toolkit mt was
  // configured with.
  void* library = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  const std::string fallback = std::string(MT_CUDA_LIB_DIR) + "/" + kLibrary;
  if (library == nullptr) library = dlopen(fallback.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    throw CudaError(std::string("cuBLAS: cannot open ") + kLibrary + " (nor " + fallback +
                        "): " + (why != nullptr ? why : "unknown error") +
                        "; install the CUDA toolkit's cuBLAS or add its lib64 to "
                        "LD_LIBRARY_PATH",
                    false);
  }
  CublasApi api{};
  Resolve(library, "cublasCreate_v2", &api.create);
  Resolve(library, "cublasSetStream_v2", &api.set_stream);
  Resolve(library, "cublasSetMathMode", &api.set_math_mode);
  Resolve(library, "cublasGetStatusString", &api.get_status_string);
  Resolve(library, "cublasSgemmStridedBatched", &api.sgemm_strided_batched);
  Resolve(library, "cublasDgemmStridedBatched", &api.dgemm_strided_batched);
  return api;  // the library stays open for the life of the process
}

}  // namespace

const char* CublasLibraryName() { return kLibrary; }

const CublasApi& Cublas() {
  static const CublasApi api = Load();  // a throwing first call is retried by the next one
  return api;
}

}  // namespace mt::kernels::cuda
