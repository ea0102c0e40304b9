// Random bits every device computes the same way.
//  - Uniform01(engine): how a 64-bit draw of std::mt19937_64 becomes a uniform double (the
//    engine's Generator).
//  - Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), a
//    counter-based generator: the i-th number is a pure function of (key, i), so a GPU thread
//    computes element i's dropout draw without any sequential state, and the CPU computes the
//    same one. The dropout-mask kernels of every device use DropoutUniform01 below.
// The Philox functions compile for host and device (nvcc) alike.
#ifndef MT_KERNELS_RANDOM_BITS_H_
#define MT_KERNELS_RANDOM_BITS_H_

#include <cstdint>
#include <random>

#ifdef __CUDACC__
#define MT_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define MT_HOST_DEVICE inline
#endif

namespace mt::kernels {

// Uniform in [0, 1) from the top 53 bits of one draw: independent of the standard library's
// distributions, whose algorithms differ between implementations.
inline double Uniform01(std::mt19937_64& engine) {
  return static_cast<double>(engine() >> 11) * (1.0 / 9007199254740992.0);
}

struct Philox4x32 {
  uint32_t v[4];
};

// Philox4x32 with 10 rounds: the counter (4 words) encrypted under the key (2 words).
MT_HOST_DEVICE Philox4x32 Philox4x32x10(Philox4x32 counter, uint32_t key0, uint32_t key1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t* c = counter.v;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c[0];
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    const uint32_t n0 = hi1 ^ c[1] ^ key0, n2 = hi0 ^ c[3] ^ key1;
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return counter;
}

// The uniform draw in [0, 1) of element `index` of a dropout mask under `key` (one 64-bit draw
// of the engine per mask): the top 53 bits of Philox's first two output words for the counter
// (index, 0), as a fraction of 2^53.
MT_HOST_DEVICE double DropoutUniform01(uint64_t key, uint64_t index) {
  const Philox4x32 r = Philox4x32x10(
      Philox4x32{{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), 0u, 0u}},
      static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32));
  const uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 32 | r.v[1]) >> 11;
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

}  // namespace mt::kernels

#endif  // MT_KERNELS_RANDOM_BITS_H_
