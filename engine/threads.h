// The number of CPU threads the calling thread's ops may use, set per thread so that jobs
// running side by side in one process (each on its own std::thread) use their own counts.
// Kernels receive it in their kernels::Context; nothing reads or writes OpenMP's global setting.
#ifndef MT_ENGINE_THREADS_H_
#define MT_ENGINE_THREADS_H_

namespace mt {

// Sets the calling thread's op thread count; 0 means "all cores" (OpenMP's default team size,
// which honours OMP_NUM_THREADS). Negative counts throw mt::Error.
// The trainer sets its config's count for the length of a run with ScopedThreads (below).
void SetThreadCount(int threads);

// The calling thread's setting as given (0 = all cores).
int ThreadCountSetting();

// The resolved count (>= 1) that kernels launched from this thread get. With the setting at 0
// it is all cores less those other processes keep busy (engine/cpu_load.h), sampled as the
// run goes, so a job at its defaults gives a core back to a busy neighbour; with a count set,
// that count.
int ThreadCount();

// The count that fixes how kernels split their sums (kernels::Context::splits): the setting,
// or all cores for 0 -- not lowered for other processes' load, so results keep their bits.
int SplitCount();

// Sets the calling thread's count for a scope and restores the previous setting on exit.
class ScopedThreads {
 public:
  explicit ScopedThreads(int threads);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

}  // namespace mt

#endif  // MT_ENGINE_THREADS_H_
