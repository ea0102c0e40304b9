// How a 64-bit draw of std::mt19937_64 becomes a uniform double, shared by the engine's
// Generator and every device's dropout-mask kernel so that masks continue the same stream.
#ifndef MT_KERNELS_RANDOM_BITS_H_
#define MT_KERNELS_RANDOM_BITS_H_

#include <random>

namespace mt::kernels {

// Uniform in [0, 1) from the top 53 bits of one draw: independent of the standard library's
// distributions, whose algorithms differ between implementations.
inline double Uniform01(std::mt19937_64& engine) {
  return static_cast<double>(engine() >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace mt::kernels

#endif  // MT_KERNELS_RANDOM_BITS_H_
