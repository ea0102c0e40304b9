// How much two threads of this machine can compute against one: a loop of independent AVX2
// fused multiply-adds (no memory traffic, no synchronisation) timed on one thread, then on
// every thread at once. On a VM whose virtual CPUs share physical cores, or whose host is busy,
// the second thread adds less than a core; bench/run.py prints this ceiling beside mt's and
// PyTorch's 1 -> 2 thread speed-ups. Also the round trip of a cache line between two threads,
// which every barrier and every hand-over of data between threads pays. Prints one JSON object.
#include <immintrin.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace {

constexpr int kChains = 12;  // independent accumulators: enough to hide the FMA latency
constexpr long kIterations = 20'000'000;

// Returns a value that depends on every FMA so the loop is not optimised away.
__attribute__((target("avx2,fma"))) float FmaLoop(long iterations) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 mul = _mm256_set1_ps(0.99999f), add = _mm256_set1_ps(1e-6f);
  for (long k = 0; k < iterations; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
  }
  float sum = 0;
  for (int i = 0; i < kChains; ++i) sum += _mm256_cvtss_f32(acc[i]);
  return sum;
}

// GFLOP/s of `threads` threads each running the loop at the same time.
double Measure(int threads, float* sink) {
  const auto t0 = std::chrono::steady_clock::now();
  float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  total += FmaLoop(kIterations);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  *sink += total;
  return 2.0 * 8 * kChains * static_cast<double>(kIterations) * threads / s / 1e9;
}

// Nanoseconds per round trip of a flag between threads 0 and 1 (each waits for the other's
// write, then answers), or -1 with fewer than two threads.
double RoundTripNs() {
  constexpr int kTrips = 100'000;
  std::atomic<int> flag{0};
  bool two = false;
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(2)
  {
    if (omp_get_num_threads() == 2) {
      const int me = omp_get_thread_num();
      if (me == 0) two = true;
      for (int i = 0; i < kTrips; ++i) {
        const int wait_for = 2 * i + me, answer = 2 * i + me + 1;
        while (flag.load(std::memory_order_acquire) != wait_for) _mm_pause();
        flag.store(answer, std::memory_order_release);
      }
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return two ? s / kTrips * 1e9 : -1;
}

}  // namespace

int main() {
  const int all = omp_get_max_threads();
  float sink = 0;
  Measure(1, &sink);  // warm up (clock ramp)
  const double one = Measure(1, &sink), many = Measure(all, &sink);
  const double round_trip = RoundTripNs();
  std::printf("{\"threads\":%d,\"one_gflops\":%.1f,\"all_gflops\":%.1f,\"speedup\":%.2f,"
              "\"round_trip_ns\":%.0f,\"sink\":%g}\n",
              all, one, many, many / one, round_trip, static_cast<double>(sink));
  return 0;
}
