// Prints GFLOP/s of float Gemm (C = A * B, row-major, no transposes) on square sizes, with all
// OpenMP threads and with one, so changes to the kernel can be tracked.
//   bazel run //kernels/cpu:gemm_bench
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/matmul.h"

namespace {

// Best of several timed runs, each long enough (~0.2 s) to swamp timer noise.
double MeasureGflops(int threads, int64_t size, const std::vector<float>& a,
                     const std::vector<float>& b, std::vector<float>& c) {
  using Clock = std::chrono::steady_clock;
  auto run = [&] {
    mt::kernels::cpu::Gemm<float>(mt::kernels::Context{threads}, false, false, size, size, size,
                                  1.0f, a.data(), size, b.data(), size, 0.0f, c.data(), size);
  };
  run();  // Warm-up: page faults, packing buffers.
  const double flops = 2.0 * size * size * size;
  const int reps = std::max<int>(1, static_cast<int>(2e10 / 100 / flops));
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    const auto start = Clock::now();
    for (int r = 0; r < reps; ++r) run();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::max(best, flops * reps / seconds * 1e-9);
  }
  return best;
}

}  // namespace

int main() {
  const int max_threads = omp_get_max_threads();
  std::printf("%6s %14s %14s\n", "size", "1 thread", (std::to_string(max_threads) + " threads").c_str());
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t size : {128, 256, 384, 512, 768, 1024}) {
    std::vector<float> a(size * size), b(size * size), c(size * size);
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
    const double single = MeasureGflops(1, size, a, b, c);
    const double multi = MeasureGflops(max_threads, size, a, b, c);
    std::printf("%6lld %9.1f GF/s %9.1f GF/s\n", static_cast<long long>(size), single, multi);
  }
  return 0;
}
