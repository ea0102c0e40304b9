// Kernels on int64 index arrays: range checks and one-hot encoding.
#ifndef MT_KERNELS_CPU_INDEX_H_
#define MT_KERNELS_CPU_INDEX_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cpu {

// The first index outside [0, limit), or position -1 when every index is inside.
struct IndexError {
  int64_t position = -1;
  int64_t value = 0;
};

// Scans ids in order (so the reported position is the first bad one).  ids: (n)
IndexError FindIndexOutside(const Context& ctx, const int64_t* ids, int64_t n, int64_t limit);

// out[i, c] = (c == ids[i]) ? 1 : 0. Every id must be in [0, num_classes) (check first).
// ids: (n)  out: (n, num_classes), fully overwritten.
template <typename T>
void OneHot(const Context& ctx, const int64_t* ids, int64_t n, int64_t num_classes, T* out);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_INDEX_H_
