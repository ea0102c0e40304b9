// Tests of what happens when the disk fills up: a small tmpfs mounted in a mount namespace of
// the test process alone (so nothing outside sees it and it goes away with the process), and
// a way to fill it. Needs root (CAP_SYS_ADMIN); tests skip with the reason otherwise.
#ifndef MT_COMMON_SMALL_DISK_TESTING_H_
#define MT_COMMON_SMALL_DISK_TESTING_H_

#include <cstdint>
#include <string>

namespace mt::testing {

// Mounts a tmpfs of `bytes` bytes at `dir` (created if missing). The first call moves the
// calling thread, and every thread it starts afterwards, into a private mount namespace; call
// it at the start of a test, before the code under test starts threads. Returns "" on success,
// otherwise why it could not (not root, no namespaces, ...), for GTEST_SKIP.
std::string MountSmallDisk(const std::string& dir, uint64_t bytes);

// Writes `dir`/fill until the file system has no space left (bounded by `max_bytes`); returns
// the bytes written.
uint64_t FillDisk(const std::string& dir, uint64_t max_bytes = uint64_t{1} << 30);

// Removes what FillDisk wrote.
void FreeDisk(const std::string& dir);

}  // namespace mt::testing

#endif  // MT_COMMON_SMALL_DISK_TESTING_H_
