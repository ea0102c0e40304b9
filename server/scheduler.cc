#include "server/scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mt::server {

std::string Ordinal(int64_t n) {
  const char* suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1) suffix = "st";
    if (n % 10 == 2) suffix = "nd";
    if (n % 10 == 3) suffix = "rd";
  }
  return absl::StrCat(n, suffix);
}

Scheduler::Scheduler(const std::vector<v1::Device>& devices) {
  for (const v1::Device& d : devices) {
    names_.push_back(d.name());
    devices_[d.name()].info = d;
  }
}

void Scheduler::Enqueue(const std::string& device, const std::string& job_id) {
  devices_.at(device).queue.push_back(job_id);
}

bool Scheduler::Remove(const std::string& device, const std::string& job_id) {
  auto it = devices_.find(device);
  if (it == devices_.end()) return false;
  std::deque<std::string>& q = it->second.queue;
  const size_t before = q.size();
  q.erase(std::remove(q.begin(), q.end(), job_id), q.end());
  return q.size() != before;
}

std::optional<std::string> Scheduler::NextToStart(const std::string& device) const {
  const DeviceQueue& d = devices_.at(device);
  if (d.queue.empty() || d.running >= d.info.max_running()) return std::nullopt;
  return d.queue.front();
}

void Scheduler::Started(const std::string& device) {
  DeviceQueue& d = devices_.at(device);
  d.queue.pop_front();
  ++d.running;
}

void Scheduler::Finished(const std::string& device) { --devices_.at(device).running; }

std::string Scheduler::WaitingReason(const std::string& device, const std::string& job_id) const {
  auto it = devices_.find(device);
  if (it == devices_.end()) return "";
  const DeviceQueue& d = it->second;
  auto pos = std::find(d.queue.begin(), d.queue.end(), job_id);
  const int64_t place = pos - d.queue.begin() + 1;
  return absl::StrCat("waiting for ", device, ": ", d.running, " of ", d.info.max_running(),
                      " slots busy; ", Ordinal(place), " in queue");
}

v1::Device Scheduler::Describe(const std::string& device) const {
  const DeviceQueue& d = devices_.at(device);
  v1::Device out = d.info;
  out.set_running(d.running);
  out.set_queued(static_cast<int32_t>(d.queue.size()));
  return out;
}

}  // namespace mt::server
