#include "common/omp_wait.h"

#include <unistd.h>

#include <cstdlib>

namespace mt {

void EnsureBriefOpenMpWait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  if (setenv("GOMP_SPINCOUNT", kBriefSpinCount, 1) != 0) return;
  // /proc/self/exe names this very binary even when argv[0] is a bare name found on PATH.
  execv("/proc/self/exe", argv);
  // Still here: no /proc, or exec refused. Run on; the variables are set for any child process.
}

}  // namespace mt
