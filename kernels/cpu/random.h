// Random draws on the CPU from a std::mt19937_64 stream owned by the caller.
#ifndef MT_KERNELS_CPU_RANDOM_H_
#define MT_KERNELS_CPU_RANDOM_H_

#include <cstdint>
#include <random>

#include "kernels/context.h"
#include "kernels/random_bits.h"

namespace mt::kernels::cpu {

using ::mt::kernels::DropoutUniform01;
using ::mt::kernels::Uniform01;

// Inverted-dropout mask: mask[i] = DropoutUniform01(key, i) < keep ? scale : 0 with key the
// engine's next draw (kernels/random_bits.h: counter-based, the same mask on every device);
// the engine advances by n draws in all.  mask: (n)
template <typename T>
void DropoutMask(const Context& ctx, std::mt19937_64& engine, int64_t n, double keep, double scale,
                 T* mask);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_RANDOM_H_
