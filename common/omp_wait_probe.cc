// Test helper for omp_wait_test.sh: prints OMP_WAIT_POLICY and GOMP_SPINCOUNT after
// EnsureBriefOpenMpWait, its arguments, and how many times main() ran in this process image
// chain (MT_OMP_PROBE_RUNS), and its process name (/proc/self/comm).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/omp_wait.h"

int main(int argc, char** argv) {
  const char* runs = std::getenv("MT_OMP_PROBE_RUNS");
  const int run = (runs ? std::atoi(runs) : 0) + 1;
  setenv("MT_OMP_PROBE_RUNS", std::to_string(run).c_str(), 1);
  mt::EnsureBriefOpenMpWait(argv);
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  std::printf("policy=%s spin=%s runs=%d", policy ? policy : "(unset)", spin ? spin : "(unset)", run);
  for (int i = 1; i < argc; ++i) std::printf(" arg=%s", argv[i]);
  char comm[64] = {};
  if (FILE* f = std::fopen("/proc/self/comm", "r")) {
    if (std::fgets(comm, sizeof(comm), f) == nullptr) comm[0] = '\0';
    std::fclose(f);
  }
  comm[std::strcspn(comm, "\n")] = '\0';
  std::printf(" comm=%s", comm);
  std::printf("\n");
  return 0;
}
