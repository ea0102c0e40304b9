// What this machine offers jobs: the CPU (its model name, cores and memory), then each GPU the
// CUDA runtime reports (name, memory, compute capability) as cuda:0, cuda:1, ... A build without
// CUDA, or a machine without a driver or GPU, lists the CPU alone.
#ifndef MT_SERVER_DEVICES_H_
#define MT_SERVER_DEVICES_H_

#include <string>
#include <vector>

#include "engine/cuda/runtime.h"
#include "proto/training.pb.h"

namespace mt::server {

// The devices in the order jobs choose them ("auto" picks the first); each with max_running
// set to `max_running_per_device` and running/queued left at 0 (the scheduler's to fill in).
std::vector<v1::Device> DiscoverDevices(int max_running_per_device);

// A GPU as ListDevices shows it (memory figures are filled in by RefreshDeviceMemory).
v1::Device GpuDevice(const cuda::GpuProperties& gpu, int max_running_per_device);

// Fills a GPU's memory_used_bytes (whole device) and this process's allocated / cached bytes
// (the engine's caching allocator); leaves other devices alone.
void RefreshDeviceMemory(v1::Device* device);

// What "auto" means for a new job, given the devices as described now (running and queued
// filled in): the first GPU with a free slot and nobody waiting, else the CPU.
std::string ChooseAutoDevice(const std::vector<v1::Device>& devices);

// The names of `devices`, in order.
std::vector<std::string> DeviceNames(const std::vector<v1::Device>& devices);

// Threads a job gets when its spec says 0: `cpu_threads` when set, else every core of the CPU.
int DefaultThreads(const std::vector<v1::Device>& devices, int cpu_threads);

}  // namespace mt::server

#endif  // MT_SERVER_DEVICES_H_
