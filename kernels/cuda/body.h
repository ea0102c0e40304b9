// What every CUDA kernel body shares. A kernel here is written once as a functor ("op"): plain
// fields (pointers, sizes) and a templated `operator()(const Thread& t)`, the per-thread body of
// the kernel. The thread context `t` provides
//   t.tid(), t.bid(), t.bid_y()           threadIdx.x, blockIdx.x, blockIdx.y
//   t.nthreads(), t.nblocks(), t.nblocks_y()  blockDim.x, gridDim.x, gridDim.y
//   t.sync()                              __syncthreads()
//   t.template shared<T>()               the block's dynamic shared memory
// nvcc compiles an op into a real kernel (device_exec.cuh: a __global__ that calls the op with
// the hardware's indices); the CPU emulator (emu/exec.h) runs the same op over the launch grid
// with one host thread per CUDA thread and a barrier for sync(), so indexing, bounds and
// synchronisation are tested without a GPU (under AddressSanitizer).
//
// A launcher's orchestration (which ops, in which grid, with which scratch and GEMMs) is also
// written once, as a function template over an executor `Exec` with
//   ex.Launch(Grid, block_threads, shared_bytes, op)
//   ex.GemmColMajor<T>(...)              cuBLAS's strided batched GEMM (column-major)
//   ex.template Scratch<T>(count)        stream-ordered scratch, freed at scope exit
//   ex.CopyToHost(dst, src, bytes)       synchronous read-back (the only sync a kernel does)
// so the emulated tests run the real launch logic too; only the cuBLAS call itself differs.
//
// No warp-level primitives (shuffles, votes, warp-synchronous code) are used anywhere: every
// reduction is a shared-memory tree with sync(), which the emulator models exactly.
//
// This header and every *_body.h compile with the host compiler alone (no CUDA headers).
#ifndef MT_KERNELS_CUDA_BODY_H_
#define MT_KERNELS_CUDA_BODY_H_

#include <cstdint>

#ifdef __CUDACC__
#define MT_BODY __device__ __forceinline__
#else
#define MT_BODY inline
#endif

namespace mt::kernels::cuda {

// Blocks of a launch (1-D or 2-D grid); blocks are always 1-D.
struct Grid {
  int64_t x = 1;
  int64_t y = 1;
};

// Threads per block for elementwise ops: a multiple of the warp size that keeps an SM full.
constexpr int kBlock = 256;
// Threads per block for block-wide tree reductions (a power of two).
constexpr int kReduceBlock = 256;
// Grid-stride loops launch at most this many blocks: enough to fill an H200 (132 SMs x 8
// resident blocks of 256) several times; more only adds block scheduling.
constexpr int64_t kMaxBlocks = 132 * 32;

MT_BODY int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Blocks for a grid-stride loop over n items with `block` threads each.
inline Grid GridFor(int64_t n, int block = kBlock) {
  int64_t blocks = (n + block - 1) / block;
  if (blocks < 1) blocks = 1;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  return Grid{blocks, 1};
}

// The first index and the stride of thread t's grid-stride loop.
template <typename Thread>
MT_BODY int64_t GlobalThread(const Thread& t) {
  return static_cast<int64_t>(t.bid()) * t.nthreads() + t.tid();
}
template <typename Thread>
MT_BODY int64_t GlobalStride(const Thread& t) {
  return static_cast<int64_t>(t.nblocks()) * t.nthreads();
}

// Tree reduction of one value per thread over the block (blockDim a power of two). `buf` is
// shared memory of nthreads() elements; every thread gets the result. combine(a, b) must be
// associative; the tree's order is fixed, so the result is deterministic.
template <typename Thread, typename V, typename Combine>
MT_BODY V BlockReduce(const Thread& t, V* buf, V value, Combine combine) {
  const int tid = t.tid();
  buf[tid] = value;
  t.sync();
  for (int half = t.nthreads() / 2; half > 0; half /= 2) {
    if (tid < half) buf[tid] = combine(buf[tid], buf[tid + half]);
    t.sync();
  }
  const V result = buf[0];
  // Everyone has read buf[0] before the caller may reuse the buffer.
  t.sync();
  return result;
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_BODY_H_
