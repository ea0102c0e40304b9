// What this machine offers jobs: today the CPU (its model name, cores and memory); CUDA devices
// join the list once the engine has CUDA kernels.
#ifndef MT_SERVER_DEVICES_H_
#define MT_SERVER_DEVICES_H_

#include <string>
#include <vector>

#include "proto/training.pb.h"

namespace mt::server {

// The devices in the order jobs choose them ("auto" picks the first); each with max_running
// set to `max_running_per_device` and running/queued left at 0 (the scheduler's to fill in).
std::vector<v1::Device> DiscoverDevices(int max_running_per_device);

// The names of `devices`, in order.
std::vector<std::string> DeviceNames(const std::vector<v1::Device>& devices);

// Threads a job gets when its spec says 0: `cpu_threads` when set, else every core of the CPU.
int DefaultThreads(const std::vector<v1::Device>& devices, int cpu_threads);

}  // namespace mt::server

#endif  // MT_SERVER_DEVICES_H_
