// Scratch device memory for kernels that need temporaries (im2col columns, transposes, a
// read-back slot). Kernels never call cudaMalloc per launch: they ask the installed
// ScratchAllocator, which the CUDA backend points at its caching allocator. Until one is
// installed, the default takes memory from the CUDA runtime's stream-ordered pool
// (cudaMallocAsync with the release threshold raised, so freed blocks are kept and reused:
// no driver allocation in a steady training step, and graph capture works).
#ifndef MT_KERNELS_CUDA_SCRATCH_H_
#define MT_KERNELS_CUDA_SCRATCH_H_

#include <cstddef>

namespace mt::kernels::cuda {

class ScratchAllocator {
 public:
  virtual ~ScratchAllocator() = default;
  // `bytes` (> 0) of device memory usable by work queued on `stream` (a cudaStream_t) after
  // this call; throws on failure.
  virtual void* Allocate(size_t bytes, void* stream) = 0;
  // Returns memory from Allocate; work already queued on `stream` may still use it.
  virtual void Free(void* ptr, void* stream) = 0;
};

// Installs the allocator scratch comes from (not owned; it must outlive every kernel call);
// null restores the default. Thread-safe.
void SetScratchAllocator(ScratchAllocator* allocator);
ScratchAllocator& GetScratchAllocator();

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_SCRATCH_H_
