#include "kernels/cpu/index.h"

#include <algorithm>

namespace mt::kernels::cpu {

// ids: (n)
IndexError FindIndexOutside(const Context& ctx, const int64_t* ids, int64_t n, int64_t limit) {
  (void)ctx;  // One compare per element; never worth a parallel region at batch sizes.
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= limit) return IndexError{i, ids[i]};
  }
  return IndexError{};
}

// ids: (n)  out: (n, num_classes)
template <typename T>
void OneHot(const Context& ctx, const int64_t* ids, int64_t n, int64_t num_classes, T* out) {
  (void)ctx;
  std::fill(out, out + n * num_classes, T(0));
  for (int64_t i = 0; i < n; ++i) out[i * num_classes + ids[i]] = T(1);
}

template void OneHot<float>(const Context&, const int64_t*, int64_t, int64_t, float*);
template void OneHot<double>(const Context&, const int64_t*, int64_t, int64_t, double*);
template void OneHot<int64_t>(const Context&, const int64_t*, int64_t, int64_t, int64_t*);

}  // namespace mt::kernels::cpu
