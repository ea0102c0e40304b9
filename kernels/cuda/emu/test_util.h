// Shared by the emulated-kernel tests: the emulator, the CPU kernel tests' helpers (seeded data,
// tolerant comparisons), and shape helpers.
#ifndef MT_KERNELS_CUDA_EMU_TEST_UTIL_H_
#define MT_KERNELS_CUDA_EMU_TEST_UTIL_H_

#include <cstdint>
#include <vector>

#include "kernels/cpu/test_util.h"
#include "kernels/cuda/emu/exec.h"

namespace mt::kernels::cuda::emu {

using ::mt::kernels::cpu::testing::ContiguousStrides;
using ::mt::kernels::cpu::testing::Eps;
using ::mt::kernels::cpu::testing::ExpectAllClose;
using ::mt::kernels::cpu::testing::Product;
using ::mt::kernels::cpu::testing::RandomInt;
using ::mt::kernels::cpu::testing::RandomVector;
using ::mt::kernels::cpu::testing::ShapeString;

template <typename T>
std::vector<double> ToDouble(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace mt::kernels::cuda::emu

#endif  // MT_KERNELS_CUDA_EMU_TEST_UTIL_H_
