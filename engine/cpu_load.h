// How busy other processes keep the CPUs this process may run on, so that a job left at "all
// cores" gives a core back to a busy neighbour instead of fighting it: two threads that meet at
// a barrier many times a step, one of them sharing its core with a busy process, each time wait
// for the scheduler to hand that core back (LeNet-5 lost 60-70 % of its speed that way).
//
// Other processes' use is the busy time /proc/stat counts on those CPUs minus this process's own
// CPU time, per second of wall time, sampled every 0.2 s (the first time 0.1 s after start).
#ifndef MT_ENGINE_CPU_LOAD_H_
#define MT_ENGINE_CPU_LOAD_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mt {

// Busy clock ticks (user, nice, system, irq, softirq; not idle, iowait or steal) summed over the
// "cpuN" lines of /proc/stat text whose N is in `cpus`, or the aggregate "cpu" line when `cpus`
// is empty. nullopt when the text has no such line or a field is not a number.
std::optional<int64_t> BusyTicks(std::string_view proc_stat, const std::vector<int>& cpus);

// Threads to use out of `all` when other processes keep `others` cores busy, given the count
// in use now (hysteresis: a core counts as taken from 0.6 of it busy, and as free again below
// 0.4, so a neighbour near half a core does not flip the count every sample). At least 1.
int ThreadsForLoad(int all, double others, int current);

// Process-wide sampler. Advise(all) is cheap (a clock read) between samples; the caller that
// finds a sample due reads /proc/stat. Until the first sample (0.1 s after the first
// call, 0.1 s), and wherever /proc/stat cannot be read, it advises `all`.
class CpuLoadMonitor {
 public:
  static CpuLoadMonitor& Get();
  int Advise(int all);
  // Other processes' cores in the last sample (negative before the first).
  double LastOthers() const;

 private:
  CpuLoadMonitor();
  struct State;
  State* state_;
};

}  // namespace mt

#endif  // MT_ENGINE_CPU_LOAD_H_
