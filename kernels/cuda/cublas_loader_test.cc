// The cuBLAS table loads without a GPU: the library is found and every entry point resolves to
// a real function (cublasGetStatusString answers without a device), and the process did not
// have it mapped before the first use.
#include "kernels/cuda/cublas_loader.h"

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace mt::kernels::cuda {
namespace {

bool Mapped(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(name) != std::string::npos) return true;
  }
  return false;
}

TEST(CublasLoader, OpensTheLibraryOnFirstUseOnly) {
  const std::string library = CublasLibraryName();
  EXPECT_EQ(library.rfind("libcublas.so.", 0), 0u) << library;
  EXPECT_FALSE(Mapped("libcublas")) << "cuBLAS was loaded before anything asked for it";
  const CublasApi& api = Cublas();
  EXPECT_TRUE(Mapped("libcublas"));
  ASSERT_NE(api.create, nullptr);
  ASSERT_NE(api.set_stream, nullptr);
  ASSERT_NE(api.set_math_mode, nullptr);
  ASSERT_NE(api.sgemm_strided_batched, nullptr);
  ASSERT_NE(api.dgemm_strided_batched, nullptr);
  ASSERT_NE(api.get_status_string, nullptr);
  // A real call into the library (no device needed): two statuses, two different messages.
  const std::string ok = api.get_status_string(CUBLAS_STATUS_SUCCESS);
  const std::string bad = api.get_status_string(CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_FALSE(ok.empty());
  EXPECT_NE(ok, bad);
  EXPECT_EQ(&Cublas(), &api);  // loaded once
}

}  // namespace
}  // namespace mt::kernels::cuda
