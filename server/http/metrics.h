// What GET /metrics says about the daemon, in Prometheus' text format (prometheus_text.h):
//   mt_jobs{state}                      gauge   jobs in each state (every state, zeros too)
//   mt_device_queued_jobs{device}       gauge   queue length per device
//   mt_device_running_jobs{device}      gauge   running jobs per device (and _max_running)
//   mt_epochs_trained_total             counter epochs finished since the daemon started
//   mt_samples_trained_total            counter training examples those epochs went through
//   mt_job_samples_per_second{job_id}   gauge   current speed of each running job
//   mt_rpc_requests_total{method,code}  counter gRPC calls by method and status code
//   mt_rpc_duration_seconds{method,code} histogram of their latency
//   mt_process_resident_memory_bytes / mt_process_virtual_memory_bytes   gauges (/proc/self/statm)
// Reads the job manager only through its public interface; no network here.
#ifndef MT_SERVER_HTTP_METRICS_H_
#define MT_SERVER_HTTP_METRICS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "server/http/rpc_stats.h"
#include "server/job_manager.h"

namespace mt::server::http {

// Resident and virtual size of this process in bytes, from /proc/self/statm; {0, 0} when it
// cannot be read.
struct ProcessMemory {
  int64_t resident_bytes = 0;
  int64_t virtual_bytes = 0;
};
ProcessMemory ReadProcessMemory();

// Examples one epoch of `job` goes through: its train_size, or the task's published training
// split size when it trains on the whole split (0 when that is unknown).
int64_t SamplesPerEpoch(const v1::Job& job);

class DaemonMetrics {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Jobs' events up to now are the baseline: the counters count what happens after this.
  // `rpc`, `clock`: the daemon's by default; tests pass their own.
  explicit DaemonMetrics(JobManager* manager, const RpcStats* rpc = &RpcStats::Global(),
                         Clock clock = std::chrono::steady_clock::now);

  // The exposition text. Thread-safe; each call also advances the counters over the events
  // recorded since the previous one.
  std::string Render();

 private:
  struct Seen {
    int64_t next_seq = 1;  // first event not yet counted
    // The batch progress seen at the previous scrape, for the speed between two scrapes.
    int64_t progress_epoch = 0, progress_batch = 0;
    std::chrono::steady_clock::time_point progress_time;
    double samples_per_second = 0;  // the last speed measured; 0 = none yet
  };
  void CountNewEvents(const v1::Job& job, Seen& seen);
  double CurrentSpeed(const v1::Job& job, Seen& seen);

  JobManager* manager_;
  const RpcStats* rpc_;
  Clock clock_;
  std::mutex mu_;
  std::map<std::string, Seen> seen_;  // by job id
  int64_t epochs_ = 0;
  int64_t samples_ = 0;
};

}  // namespace mt::server::http

#endif  // MT_SERVER_HTTP_METRICS_H_
