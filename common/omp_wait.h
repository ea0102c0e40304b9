// OpenMP's idle threads wait passively unless the user asked otherwise.
//
// libgomp's default is to spin for a while before sleeping; on a machine shared with another
// busy process, spinning threads steal the cores the work needs and a training epoch can slow
// down tenfold. libgomp reads OMP_WAIT_POLICY once, when it is loaded, so setting it from main()
// is too late: the program re-executes itself once with the variable set.
#ifndef MT_COMMON_OMP_WAIT_H_
#define MT_COMMON_OMP_WAIT_H_

namespace mt {

// Call first in main(), before any thread starts. When OMP_WAIT_POLICY is unset, sets it to
// PASSIVE and replaces the process with a fresh copy of itself (same pid, same arguments);
// returns normally when the variable was already set (the user's choice is kept) or when the
// re-execution is impossible (then the program runs with libgomp's default).
void EnsurePassiveOpenMpWait(char** argv);

}  // namespace mt

#endif  // MT_COMMON_OMP_WAIT_H_
