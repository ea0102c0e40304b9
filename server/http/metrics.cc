#include "server/http/metrics.h"

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <vector>

#include "engine/tasks/registry.h"
#include "server/http/prometheus_text.h"

namespace mt::server::http {
namespace {

std::string StateLabel(v1::JobState s) {
  std::string name = v1::JobState_Name(s);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace

ProcessMemory ReadProcessMemory() {
  std::ifstream in("/proc/self/statm");
  int64_t pages_virtual = 0, pages_resident = 0;
  ProcessMemory m;
  if (!(in >> pages_virtual >> pages_resident)) return m;
  const int64_t page = sysconf(_SC_PAGESIZE);
  m.virtual_bytes = pages_virtual * page;
  m.resident_bytes = pages_resident * page;
  return m;
}

int64_t SamplesPerEpoch(const v1::Job& job) {
  if (job.spec().train_size() > 0) return job.spec().train_size();
  const tasks::Task* task = tasks::FindTask(job.spec().task());
  return task ? task->info().max_train_size : 0;
}

DaemonMetrics::DaemonMetrics(JobManager* manager, const RpcStats* rpc, Clock clock)
    : manager_(manager), rpc_(rpc), clock_(std::move(clock)) {
  for (const v1::Job& job : manager_->List(v1::JOB_STATE_UNSPECIFIED)) {
    seen_[job.id()].next_seq = job.last_seq() + 1;
  }
}

void DaemonMetrics::CountNewEvents(const v1::Job& job, Seen& seen) {
  if (job.last_seq() < seen.next_seq) return;
  absl::StatusOr<WatchBatch> b =
      manager_->Watch(job.id(), seen.next_seq, /*follow=*/false, 0, std::chrono::milliseconds(0));
  if (!b.ok()) return;
  for (const v1::JobEvent& e : b->events) {
    if (e.seq() < seen.next_seq) continue;
    seen.next_seq = e.seq() + 1;
    if (e.has_epoch()) {
      ++epochs_;
      samples_ += SamplesPerEpoch(job);
    }
  }
}

double DaemonMetrics::CurrentSpeed(const v1::Job& job, Seen& seen) {
  // The latest batch progress, without waiting (follow with a zero timeout).
  absl::StatusOr<WatchBatch> b = manager_->Watch(job.id(), job.last_seq() + 1, /*follow=*/true, 0,
                                                 std::chrono::milliseconds(0));
  const auto now = clock_();
  if (b.ok() && b->has_progress && b->progress.has_progress()) {
    const v1::BatchProgress& p = b->progress.progress();
    if (p.epoch() == seen.progress_epoch && p.batch() > seen.progress_batch) {
      const double dt = std::chrono::duration<double>(now - seen.progress_time).count();
      if (dt > 0) {
        seen.samples_per_second =
            static_cast<double>(p.batch() - seen.progress_batch) * job.spec().batch_size() / dt;
      }
    }
    if (p.epoch() != seen.progress_epoch || p.batch() != seen.progress_batch) {
      seen.progress_epoch = p.epoch();
      seen.progress_batch = p.batch();
      seen.progress_time = now;
    }
  }
  // Until two scrapes have seen it move, the last finished epoch's speed is the best there is.
  if (seen.samples_per_second > 0) return seen.samples_per_second;
  return job.has_last_epoch() ? job.last_epoch().samples_per_second() : 0;
}

std::string DaemonMetrics::Render() {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<v1::Job> jobs = manager_->List(v1::JOB_STATE_UNSPECIFIED);
  std::map<v1::JobState, int64_t> by_state;
  std::vector<std::pair<std::string, double>> speeds;
  for (const v1::Job& job : jobs) {
    ++by_state[job.state()];
    Seen& seen = seen_[job.id()];
    CountNewEvents(job, seen);
    if (job.state() == v1::RUNNING) {
      speeds.emplace_back(job.id(), CurrentSpeed(job, seen));
    } else {
      seen.samples_per_second = 0;
      seen.progress_epoch = seen.progress_batch = 0;
    }
  }

  PrometheusText t;
  t.Family("mt_jobs", "gauge", "Jobs in each state.");
  for (int s = v1::JobState_MIN; s <= v1::JobState_MAX; ++s) {
    if (!v1::JobState_IsValid(s) || s == v1::JOB_STATE_UNSPECIFIED) continue;
    const auto state = static_cast<v1::JobState>(s);
    t.Sample("mt_jobs", {{"state", StateLabel(state)}}, static_cast<double>(by_state[state]));
  }
  const std::vector<v1::Device> devices = manager_->Devices();
  t.Family("mt_device_queued_jobs", "gauge", "Jobs waiting in each device's queue.");
  for (const v1::Device& d : devices) t.Sample("mt_device_queued_jobs", {{"device", d.name()}}, d.queued());
  t.Family("mt_device_running_jobs", "gauge", "Jobs running on each device.");
  for (const v1::Device& d : devices) t.Sample("mt_device_running_jobs", {{"device", d.name()}}, d.running());
  t.Family("mt_device_max_running_jobs", "gauge", "Jobs each device may run at once.");
  for (const v1::Device& d : devices) {
    t.Sample("mt_device_max_running_jobs", {{"device", d.name()}}, d.max_running());
  }
  t.Family("mt_epochs_trained_total", "counter", "Epochs finished since the daemon started.");
  t.Sample("mt_epochs_trained_total", {}, static_cast<double>(epochs_));
  t.Family("mt_samples_trained_total", "counter",
           "Training examples gone through by the epochs finished since the daemon started.");
  t.Sample("mt_samples_trained_total", {}, static_cast<double>(samples_));
  t.Family("mt_job_samples_per_second", "gauge",
           "Training speed of each running job (between the last two scrapes, else its last "
           "epoch's).");
  for (const auto& [id, sps] : speeds) t.Sample("mt_job_samples_per_second", {{"job_id", id}}, sps);

  const auto rpcs = rpc_->Snapshot();
  t.Family("mt_rpc_requests_total", "counter", "gRPC calls by method and status code.");
  for (const auto& [key, s] : rpcs) {
    t.Sample("mt_rpc_requests_total", {{"method", key.first}, {"code", key.second}},
             static_cast<double>(s.count));
  }
  t.Family("mt_rpc_duration_seconds", "histogram",
           "gRPC call latency by method and status code (streams: until their end).");
  for (const auto& [key, s] : rpcs) {
    int64_t cumulative = 0;
    for (size_t i = 0; i < kRpcLatencyBuckets.size(); ++i) {
      cumulative += s.bucket_counts[i];
      t.Sample("mt_rpc_duration_seconds_bucket",
               {{"method", key.first}, {"code", key.second}, {"le", FormatValue(kRpcLatencyBuckets[i])}},
               static_cast<double>(cumulative));
    }
    t.Sample("mt_rpc_duration_seconds_bucket",
             {{"method", key.first}, {"code", key.second}, {"le", "+Inf"}},
             static_cast<double>(s.count));
    t.Sample("mt_rpc_duration_seconds_sum", {{"method", key.first}, {"code", key.second}},
             s.sum_seconds);
    t.Sample("mt_rpc_duration_seconds_count", {{"method", key.first}, {"code", key.second}},
             static_cast<double>(s.count));
  }
  const ProcessMemory mem = ReadProcessMemory();
  t.Family("mt_process_resident_memory_bytes", "gauge", "Resident memory of the daemon.");
  t.Sample("mt_process_resident_memory_bytes", {}, static_cast<double>(mem.resident_bytes));
  t.Family("mt_process_virtual_memory_bytes", "gauge", "Virtual memory of the daemon.");
  t.Sample("mt_process_virtual_memory_bytes", {}, static_cast<double>(mem.virtual_bytes));
  return t.text();
}

}  // namespace mt::server::http
