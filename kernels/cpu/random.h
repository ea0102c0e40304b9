// Random draws on the CPU from a std::mt19937_64 stream owned by the caller.
#ifndef MT_KERNELS_CPU_RANDOM_H_
#define MT_KERNELS_CPU_RANDOM_H_

#include <cstdint>
#include <random>

#include "kernels/context.h"

namespace mt::kernels::cpu {

// Uniform in [0, 1) from the top 53 bits of one draw: independent of the standard library's
// distributions, whose algorithms differ between implementations.
inline double Uniform01(std::mt19937_64& engine) {
  return static_cast<double>(engine() >> 11) * (1.0 / 9007199254740992.0);
}

// Inverted-dropout mask: mask[i] = Uniform01() < keep ? scale : 0, drawn in index order, one
// draw per element (serial: the stream order is part of the result).  mask: (n)
template <typename T>
void DropoutMask(const Context& ctx, std::mt19937_64& engine, int64_t n, double keep, double scale,
                 T* mask);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_RANDOM_H_
