// Runs the smoke library's host code: it must link and answer on a machine without a driver.
#include "third_party/cuda/nvcc_smoke.h"

#include <gtest/gtest.h>

namespace mt::cuda_smoke {
namespace {

TEST(NvccSmoke, DeviceCountIsACountOrARuntimeError) {
  const int result = DeviceCountOrError();
  // >= 0: that many GPUs; < 0: a cudaError_t such as 35 (driver insufficient) or 100 (no device).
  if (result < 0) {
    EXPECT_NE(result, -1) << "a kernel launch failed on a machine that has a GPU";
  }
  SUCCEED() << "cudaGetDeviceCount: " << result;
}

}  // namespace
}  // namespace mt::cuda_smoke
