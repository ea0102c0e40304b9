// A CPU stand-in for a GPU, for tests: runs a kernel op (see ../body.h) over its launch grid
// with one host thread per CUDA thread of a block (blocks one after another) and a real
// barrier for sync(), gives each block its own dynamic shared memory, and implements the
// executor's GEMM with a naive column-major loop of cuBLAS's exact semantics. Scratch comes from
// the heap, so AddressSanitizer sees every out-of-bounds access of every kernel body.
// Not modelled: warps (none are used), memory ordering between blocks, FMA contraction.
#ifndef MT_KERNELS_CUDA_EMU_EXEC_H_
#define MT_KERNELS_CUDA_EMU_EXEC_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kernels/cuda/body.h"

namespace mt::kernels::cuda::emu {

// A reusable barrier for `count` threads (C++17 has no std::barrier).
class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    const int64_t generation = generation_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const int count_;
  int arrived_ = 0;
  int64_t generation_ = 0;
};

struct EmuThread {
  int thread_x, block_x, block_y, block_dim, grid_x, grid_y;
  unsigned char* shared_memory;
  Barrier* barrier;
  int tid() const { return thread_x; }
  int bid() const { return block_x; }
  int bid_y() const { return block_y; }
  int nthreads() const { return block_dim; }
  int nblocks() const { return grid_x; }
  int nblocks_y() const { return grid_y; }
  void sync() const { barrier->Wait(); }
  template <typename T>
  T* shared() const {
    return reinterpret_cast<T*>(shared_memory);
  }
};

class EmuExec {
 public:
  // Launches so far (tests check a launcher's plan, e.g. that nothing runs for n == 0).
  int launches = 0;

  template <typename Op>
  void Launch(Grid grid, int block, size_t shared_bytes, const Op& op) {
    if (grid.x <= 0 || grid.y <= 0) return;
    // 256: the device executor's __launch_bounds__.
    if (block <= 0 || block > 256) throw std::invalid_argument("block size outside [1, 256]");
    if (shared_bytes > 48 * 1024) throw std::invalid_argument("more than 48 KiB shared memory");
    ++launches;
    for (int64_t by = 0; by < grid.y; ++by) {
      for (int64_t bx = 0; bx < grid.x; ++bx) {
        // Exactly shared_bytes, so ASan flags a body that reads past its shared allocation.
        std::unique_ptr<unsigned char[]> shared(
            new unsigned char[shared_bytes > 0 ? shared_bytes : 1]);
        Barrier barrier(block);
        std::vector<std::thread> threads;
        threads.reserve(block);
        for (int tx = 0; tx < block; ++tx) {
          threads.emplace_back([&, tx] {
            const EmuThread t{tx,
                              static_cast<int>(bx),
                              static_cast<int>(by),
                              block,
                              static_cast<int>(grid.x),
                              static_cast<int>(grid.y),
                              shared.get(),
                              &barrier};
            op(t);
          });
        }
        for (auto& th : threads) th.join();
      }
    }
  }

  // cuBLAS gemmStridedBatched, column-major, written from its definition.
  template <typename T>
  void GemmColMajor(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a, int lda,
                    int64_t stride_a, const T* b, int ldb, int64_t stride_b, T beta, T* c, int ldc,
                    int64_t stride_c, int batch) {
    ++gemms;
    if (lda < (trans_a ? k : m) || ldb < (trans_b ? n : k) || ldc < m) {
      throw std::invalid_argument("cuBLAS would reject this leading dimension");
    }
    for (int p = 0; p < batch; ++p) {
      const T* ap = a + p * stride_a;
      const T* bp = b + p * stride_b;
      T* cp = c + p * stride_c;
      for (int j = 0; j < n; ++j) {
        for (int i = 0; i < m; ++i) {
          T acc = 0;
          for (int l = 0; l < k; ++l) {
            const T x = trans_a ? ap[i * lda + l] : ap[l * lda + i];
            const T y = trans_b ? bp[l * ldb + j] : bp[j * ldb + l];
            acc += x * y;
          }
          // cuBLAS does not read C when beta == 0.
          cp[j * ldc + i] = beta == T(0) ? alpha * acc : alpha * acc + beta * cp[j * ldc + i];
        }
      }
    }
  }
  int gemms = 0;

  template <typename T>
  class ScratchBuffer {
   public:
    explicit ScratchBuffer(size_t count) {
      if (count > 0) {
        ptr_.reset(new T[count]);
        // Garbage, as fresh device memory is: a kernel that reads before writing shows up.
        std::memset(static_cast<void*>(ptr_.get()), 0xA5, count * sizeof(T));
      }
    }
    T* get() const { return ptr_.get(); }

   private:
    std::unique_ptr<T[]> ptr_;
  };
  template <typename T>
  ScratchBuffer<T> Scratch(size_t count) {
    return ScratchBuffer<T>(count);
  }

  void CopyToHost(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
};

}  // namespace mt::kernels::cuda::emu

#endif  // MT_KERNELS_CUDA_EMU_EXEC_H_
