#include "server/devices.h"

#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/cuda_memory.h"
#include "engine/train/device_run.h"

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
  std::vector<v1::Device> devices = {cpu};
  for (int i = 0; i < cuda::GpuCount(); ++i) {
    absl::StatusOr<cuda::GpuProperties> gpu = cuda::Properties(i);
    if (gpu.ok()) devices.push_back(GpuDevice(*gpu, max_running_per_device));
  }
  return devices;
}

v1::Device GpuDevice(const cuda::GpuProperties& gpu, int max_running_per_device) {
  v1::Device d;
  d.set_name(absl::StrCat("cuda:", gpu.index));
  d.set_kind("cuda");
  d.set_compute_capability(absl::StrCat(gpu.compute_major, ".", gpu.compute_minor));
  d.set_description(absl::StrFormat("%s, compute capability %d.%d, %d SMs, %.1f GiB", gpu.name,
                                    gpu.compute_major, gpu.compute_minor, gpu.multiprocessors,
                                    gpu.total_memory_bytes / (1024.0 * 1024 * 1024)));
  d.set_memory_bytes(gpu.total_memory_bytes);
  d.set_max_running(max_running_per_device);
  return d;
}

void RefreshDeviceMemory(v1::Device* device) {
  if (device->kind() != "cuda") return;
  absl::StatusOr<Device> parsed = train::ParseDevice(device->name());
  if (!parsed.ok()) return;
  const int index = parsed->index;
  if (absl::StatusOr<cuda::GpuMemoryInfo> m = cuda::MemoryInfo(index); m.ok()) {
    device->set_memory_used_bytes(m->total_bytes - m->free_bytes);
  }
  const cuda::DevicePoolStats stats = CudaMemoryStats(index);
  device->set_memory_allocated_bytes(stats.in_use_bytes);
  device->set_memory_cached_bytes(stats.cached_bytes);
}

std::string ChooseAutoDevice(const std::vector<v1::Device>& devices) {
  for (const v1::Device& d : devices) {
    if (d.kind() == "cuda" && d.queued() == 0 && d.running() < d.max_running()) return d.name();
  }
  for (const v1::Device& d : devices) {
    if (d.kind() == "cpu") return d.name();
  }
  return devices.empty() ? "cpu" : devices.front().name();
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
