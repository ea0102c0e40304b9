// What every kernel is told about the caller's execution environment, instead of reading
// process-global state (OpenMP's thread count): two jobs in one process can run kernels with
// different thread counts at the same time.
#ifndef MT_KERNELS_CONTEXT_H_
#define MT_KERNELS_CONTEXT_H_

namespace mt::kernels {

struct Context {
  // Threads a parallel region of this kernel may use (>= 1). CPU kernels use it as OpenMP's
  // num_threads; they still run serially when called from inside a parallel region.
  int threads = 1;
  // Device queue for asynchronous devices (e.g. a CUDA stream); unused on the CPU.
  void* stream = nullptr;
};

}  // namespace mt::kernels

#endif  // MT_KERNELS_CONTEXT_H_
