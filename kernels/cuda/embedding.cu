// Embedding launchers: the plans in embedding_body.h run on the GPU.
#include "kernels/cuda/device_exec.cuh"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/embedding_body.h"

namespace mt::kernels::cuda {

template <typename T>
void EmbeddingForward(const Context& ctx, const T* weight, int64_t dim, const int64_t* ids,
                      int64_t n_ids, T* out) {
  DeviceExec ex(ctx);
  EmbeddingForwardImpl(ex, weight, dim, ids, n_ids, out);
}

template <typename T>
void EmbeddingBackward(const Context& ctx, const T* grad_out, const int64_t* ids, int64_t n_ids,
                       int64_t dim, T* grad_weight) {
  DeviceExec ex(ctx);
  EmbeddingBackwardImpl(ex, grad_out, ids, n_ids, dim, grad_weight);
}

template void EmbeddingForward<float>(const Context&, const float*, int64_t, const int64_t*,
                                      int64_t, float*);
template void EmbeddingForward<double>(const Context&, const double*, int64_t, const int64_t*,
                                       int64_t, double*);
template void EmbeddingBackward<float>(const Context&, const float*, const int64_t*, int64_t,
                                       int64_t, float*);
template void EmbeddingBackward<double>(const Context&, const double*, const int64_t*, int64_t,
                                        int64_t, double*);

}  // namespace mt::kernels::cuda
