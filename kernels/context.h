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
  // How many parts a kernel that sums per thread (a convolution's weight gradient) splits its
  // sum into, whatever `threads` is; 0 means `threads`. The engine sets the caller's thread
  // setting here and may lower `threads` on a busy machine: the bits of a result then do not
  // depend on how busy the machine was.
  int splits = 0;
};

}  // namespace mt::kernels

#endif  // MT_KERNELS_CONTEXT_H_
