#include "common/omp_wait.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace mt {

namespace {

// A process started through /proc/self/exe is named "exe" (ps, top, /proc/PID/comm): give it
// back its binary's name (at most 15 bytes, as the kernel keeps it).
void RenameIfReexecuted() {
  char comm[32] = {};
  if (prctl(PR_GET_NAME, comm) != 0 || std::strcmp(comm, "exe") != 0) return;
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return;
  path[n] = '\0';
  const char* slash = std::strrchr(path, '/');
  const char* name = slash ? slash + 1 : path;
  char short_name[16] = {};
  std::strncpy(short_name, name, sizeof(short_name) - 1);
  prctl(PR_SET_NAME, short_name);
}

}  // namespace

void EnsureBriefOpenMpWait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) {
    RenameIfReexecuted();
    return;
  }
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  if (setenv("GOMP_SPINCOUNT", kBriefSpinCount, 1) != 0) return;
  // /proc/self/exe names this very binary even when argv[0] is a bare name found on PATH.
  execv("/proc/self/exe", argv);
  // Still here: no /proc, or exec refused. Run on; the variables are set for any child process.
}

}  // namespace mt
