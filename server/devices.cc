#include "server/devices.h"

#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace mt::server {
namespace {

// "model name : Intel(R) Xeon(R) ..." from /proc/cpuinfo; "CPU" where there is none.
std::string CpuModelName() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      if (size_t colon = line.find(':'); colon != std::string::npos) {
        return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
      break;
    }
  }
  return "CPU";
}

}  // namespace

std::vector<v1::Device> DiscoverDevices(int max_running_per_device) {
  const unsigned hc = std::thread::hardware_concurrency();
  const int cores = hc > 0 ? static_cast<int>(hc) : 1;
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  const int64_t memory = pages > 0 && page_size > 0 ? int64_t{pages} * page_size : 0;
  v1::Device cpu;
  cpu.set_name("cpu");
  cpu.set_kind("cpu");
  cpu.set_description(absl::StrFormat("%s, %d cores, %.1f GiB", CpuModelName(), cores,
                                      memory / (1024.0 * 1024 * 1024)));
  cpu.set_cores(cores);
  cpu.set_memory_bytes(memory);
  cpu.set_max_running(max_running_per_device);
  return {cpu};
}

std::vector<std::string> DeviceNames(const std::vector<v1::Device>& devices) {
  std::vector<std::string> names;
  for (const v1::Device& d : devices) names.push_back(d.name());
  return names;
}

int DefaultThreads(const std::vector<v1::Device>& devices, int cpu_threads) {
  if (cpu_threads > 0) return cpu_threads;
  for (const v1::Device& d : devices) {
    if (d.kind() == "cpu") return d.cores();
  }
  return 1;
}

}  // namespace mt::server
