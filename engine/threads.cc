#include "engine/threads.h"

#include <omp.h>

#include "engine/cpu_load.h"
#include "engine/error.h"

namespace mt {
namespace {
thread_local int t_threads = 0;
}  // namespace

void SetThreadCount(int threads) {
  MT_CHECK(threads >= 0, "thread count must be >= 0 (0 = all cores), got ", threads);
  t_threads = threads;
}

int ThreadCountSetting() { return t_threads; }

int SplitCount() {
  if (t_threads > 0) return t_threads;
  const int all = omp_get_max_threads();
  return all > 0 ? all : 1;
}

int ThreadCount() {
  if (t_threads > 0) return t_threads;
  return CpuLoadMonitor::Get().Advise(SplitCount());
}

ScopedThreads::ScopedThreads(int threads) : previous_(t_threads) { SetThreadCount(threads); }
ScopedThreads::~ScopedThreads() { t_threads = previous_; }

}  // namespace mt
