#include "common/omp_wait.h"

#include <unistd.h>

#include <cstdlib>

namespace mt {

void EnsurePassiveOpenMpWait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  // /proc/self/exe names this very binary even when argv[0] is a bare name found on PATH.
  execv("/proc/self/exe", argv);
  // Still here: no /proc, or exec refused. Run on; the variable is set for any child process.
}

}  // namespace mt
