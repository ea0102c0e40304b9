// Helpers shared by the kernel tests: seeded random data and tolerant comparisons against
// double-precision references.
#ifndef MT_KERNELS_CPU_TEST_UTIL_H_
#define MT_KERNELS_CPU_TEST_UTIL_H_

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/context.h"

namespace mt::kernels::cpu::testing {

// The context the kernels ran with before they took one: OpenMP's current thread count.
inline Context Ctx() { return Context{omp_get_max_threads()}; }

template <typename T>
std::vector<T> RandomVector(int64_t n, std::mt19937_64& rng, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

inline int64_t RandomInt(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

inline int64_t Product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

inline std::vector<int64_t> ContiguousStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

inline std::string ShapeString(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

// Machine epsilon of the type under test, as a double.
template <typename T>
double Eps() {
  return static_cast<double>(std::numeric_limits<T>::epsilon());
}

// Expects |actual[i] - expected[i]| <= atol + rtol * |expected[i]| everywhere; reports the first
// few failures only, so a broken kernel does not flood the log. NaN must match NaN.
template <typename T>
void ExpectAllClose(const std::vector<T>& actual, const std::vector<double>& expected, double rtol,
                    double atol, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < actual.size() && failures < 5; ++i) {
    const double a = actual[i], e = expected[i];
    const bool ok = std::isnan(e) ? std::isnan(a) : std::abs(a - e) <= atol + rtol * std::abs(e);
    if (!ok) {
      ++failures;
      ADD_FAILURE() << what << ": element " << i << " is " << a << ", expected " << e;
    }
  }
}

}  // namespace mt::kernels::cpu::testing

#endif  // MT_KERNELS_CPU_TEST_UTIL_H_
