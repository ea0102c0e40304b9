// Which queued job runs next: a FIFO queue per device and a count of the jobs running on it,
// with at most max_running of them at once. It decides and explains (the waiting reason a
// queued job shows); it starts nothing itself: the job manager records the transition and asks
// the runner to run the job.
//
// Not thread-safe: the job manager calls it with its job table locked, so that a job's state
// and its place in the queues always change together.
#ifndef MT_SERVER_SCHEDULER_H_
#define MT_SERVER_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/training.pb.h"

namespace mt::server {

class Scheduler {
 public:
  // `devices`: the devices jobs may be queued on, with their max_running.
  explicit Scheduler(const std::vector<v1::Device>& devices);

  bool HasDevice(const std::string& device) const { return devices_.count(device) > 0; }
  // Device names in discovery order.
  const std::vector<std::string>& device_names() const { return names_; }

  // Appends `job_id` to `device`'s queue (which must exist).
  void Enqueue(const std::string& device, const std::string& job_id);
  // Takes a queued job out of its queue (cancelled); false when it was not queued there.
  bool Remove(const std::string& device, const std::string& job_id);

  // The job at the head of `device`'s queue when the device has a free slot; nullopt otherwise.
  std::optional<std::string> NextToStart(const std::string& device) const;
  // The head of `device`'s queue starts: it leaves the queue and takes a slot.
  void Started(const std::string& device);
  // A job that ran on `device` has ended: its slot is free again.
  void Finished(const std::string& device);

  // "waiting for cpu: 1 of 1 slots busy; 2nd in queue" for a queued job.
  std::string WaitingReason(const std::string& device, const std::string& job_id) const;

  // The device as the user sees it: `info` with running and queued filled in.
  v1::Device Describe(const std::string& device) const;

 private:
  struct DeviceQueue {
    v1::Device info;
    int running = 0;
    std::deque<std::string> queue;
  };
  std::vector<std::string> names_;
  std::map<std::string, DeviceQueue> devices_;
};

// 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st, ...
std::string Ordinal(int64_t n);

}  // namespace mt::server

#endif  // MT_SERVER_SCHEDULER_H_
