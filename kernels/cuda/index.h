// Kernels on int64 index arrays on the GPU (kernels/cpu/index.h): range check and one-hot.
// Device pointers; work is queued on ctx.stream (a cudaStream_t).
#ifndef MT_KERNELS_CUDA_INDEX_H_
#define MT_KERNELS_CUDA_INDEX_H_

#include <cstdint>

#include "kernels/context.h"

namespace mt::kernels::cuda {

// The first index outside [0, limit), or position -1 when every index is inside.
struct IndexError {
  int64_t position = -1;
  int64_t value = 0;
};

// Scans ids (n, device) and waits for the answer (the caller raises the error on the host).
IndexError FindIndexOutside(const Context& ctx, const int64_t* ids, int64_t n, int64_t limit);

// out[i, c] = (c == ids[i]) ? 1 : 0.  ids (n)  out (n, num_classes). T: float, double, int64_t.
template <typename T>
void OneHot(const Context& ctx, const int64_t* ids, int64_t n, int64_t num_classes, T* out);

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_INDEX_H_
