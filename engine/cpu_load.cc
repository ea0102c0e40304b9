#include "engine/cpu_load.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

namespace mt {
namespace {

constexpr int64_t kCpuLoadPeriodNs = 200'000'000;  // 0.2 s
constexpr int64_t kFirstSampleNs = 100'000'000;    // the first after 0.1 s: short runs adapt too

int64_t NowNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Fields after the "cpu"/"cpuN" label: user nice system idle iowait irq softirq steal ...
std::optional<int64_t> LineBusy(std::string_view rest) {
  int64_t busy = 0;
  for (int field = 0; field < 7; ++field) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc() || end == rest.data()) return std::nullopt;
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    if (field != 3 && field != 4) busy += v;  // not idle, not iowait
  }
  return busy;
}

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return {};
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  // Every online CPU allowed: the aggregate line says the same with less parsing.
  if (online > 0 && static_cast<long>(cpus.size()) >= online) return {};
  return cpus;
}

}  // namespace

std::optional<int64_t> BusyTicks(std::string_view text, const std::vector<int>& cpus) {
  int64_t total = 0;
  size_t found = 0;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.substr(0, 3) != "cpu") continue;
    std::string_view label = line.substr(0, line.find(' '));
    std::string_view rest = line.substr(label.size());
    if (cpus.empty()) {
      if (label != "cpu") continue;
      return LineBusy(rest);
    }
    int n = -1;
    auto [end, ec] = std::from_chars(label.data() + 3, label.data() + label.size(), n);
    if (ec != std::errc() || end != label.data() + label.size()) continue;
    if (std::find(cpus.begin(), cpus.end(), n) == cpus.end()) continue;
    std::optional<int64_t> busy = LineBusy(rest);
    if (!busy) return std::nullopt;
    total += *busy;
    ++found;
  }
  if (found == 0) return std::nullopt;
  return total;
}

int ThreadsForLoad(int all, double others, int current) {
  if (all <= 1) return 1;
  const double threshold = current < all ? 0.4 : 0.6;  // taken from 0.6 busy, free below 0.4
  const double whole = std::floor(others);
  const int taken = static_cast<int>(whole) + (others - whole >= threshold ? 1 : 0);
  return std::clamp(all - taken, 1, all);
}

struct CpuLoadMonitor::State {
  std::vector<int> cpus = AllowedCpus();
  double ticks_per_s = static_cast<double>(sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100);
  std::atomic<int64_t> next_ns{0};  // 0: not started
  std::atomic<int> advised{0};      // 0: no sample yet
  std::atomic<double> others{-1};
  std::mutex mu;  // guards the previous sample
  bool have_previous = false;
  int64_t prev_wall_ns = 0, prev_self_ns = 0, prev_busy = 0;
  bool broken = false;  // /proc/stat unreadable: always advise `all`

  std::optional<int64_t> ReadBusy() const {
    std::ifstream f("/proc/stat");
    if (!f) return std::nullopt;
    std::stringstream ss;
    ss << f.rdbuf();
    return BusyTicks(ss.str(), cpus);
  }
};

CpuLoadMonitor::CpuLoadMonitor() : state_(new State) {}

CpuLoadMonitor& CpuLoadMonitor::Get() {
  static CpuLoadMonitor* monitor = new CpuLoadMonitor;  // never destroyed: used until exit
  return *monitor;
}

double CpuLoadMonitor::LastOthers() const { return state_->others.load(std::memory_order_relaxed); }

int CpuLoadMonitor::Advise(int all) {
  State& s = *state_;
  const int advised = s.advised.load(std::memory_order_relaxed);
  const int64_t now = NowNs(CLOCK_MONOTONIC);
  int64_t next = s.next_ns.load(std::memory_order_relaxed);
  if (next != 0 && now < next) return advised > 0 ? std::min(advised, all) : all;
  // Due (or the very first call): one caller samples, the others go on with the last advice.
  if (!s.next_ns.compare_exchange_strong(next,
                                         now + (next == 0 ? kFirstSampleNs : kCpuLoadPeriodNs))) {
    return advised > 0 ? std::min(advised, all) : all;
  }
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.broken) return all;
  const std::optional<int64_t> busy = s.ReadBusy();
  if (!busy) {
    s.broken = true;
    return all;
  }
  const int64_t self = NowNs(CLOCK_PROCESS_CPUTIME_ID);
  int result = advised > 0 ? std::min(advised, all) : all;
  if (s.have_previous && now > s.prev_wall_ns) {
    const double wall_s = static_cast<double>(now - s.prev_wall_ns) * 1e-9;
    const double all_cores_s = static_cast<double>(*busy - s.prev_busy) / s.ticks_per_s;
    const double self_s = static_cast<double>(self - s.prev_self_ns) * 1e-9;
    const double others = std::max(0.0, (all_cores_s - self_s) / wall_s);
    s.others.store(others, std::memory_order_relaxed);
    result = ThreadsForLoad(all, others, advised > 0 ? advised : all);
    s.advised.store(result, std::memory_order_relaxed);
  }
  s.have_previous = true;
  s.prev_wall_ns = now;
  s.prev_self_ns = self;
  s.prev_busy = *busy;
  return result;
}

}  // namespace mt
