// OpenMP's idle threads spin briefly, then sleep, unless the user asked otherwise.
//
// libgomp's default is to spin for up to ~3 ms before sleeping; on a machine shared with
// another busy process, spinning threads steal the cores the work needs and a training epoch
// can slow down tenfold. Sleeping at once (OMP_WAIT_POLICY=PASSIVE) costs a futex wake-up of
// the other threads at every parallel region instead: ~18 us per region on the 2-core VM,
// LeNet-5 training 10 % and the MiniTorch net 20 % slower than with a spin of ~30 us
// (GOMP_SPINCOUNT=3000, about 100 spins per us). Kept that short, a spin costs a busy
// neighbour little, and libgomp does not spin at all with PASSIVE set when its threads
// outnumber the cores. (At its default thread count a job also gives cores back to busy
// neighbours: engine/cpu_load.h.)
//
// libgomp reads these variables once, when it is loaded, so setting them from main() is too
// late: the program re-executes itself once with them set.
#ifndef MT_COMMON_OMP_WAIT_H_
#define MT_COMMON_OMP_WAIT_H_

namespace mt {

// The spin count set when the user set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT.
inline constexpr char kBriefSpinCount[] = "3000";

// Call first in main(), before any thread starts. When neither OMP_WAIT_POLICY nor
// GOMP_SPINCOUNT is set, sets OMP_WAIT_POLICY=PASSIVE and GOMP_SPINCOUNT=kBriefSpinCount and
// replaces the process with a fresh copy of itself (same pid, same arguments); returns
// normally when either was already set (the user's choice is kept) or when the re-execution is
// impossible (then the program runs with libgomp's default). The re-executed copy, which the
// kernel would name "exe" after /proc/self/exe, takes its binary's name back (ps, top).
void EnsureBriefOpenMpWait(char** argv);

}  // namespace mt

#endif  // MT_COMMON_OMP_WAIT_H_
