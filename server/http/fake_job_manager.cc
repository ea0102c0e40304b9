#include "server/http/fake_job_manager.h"

#include "server/auth.h"

namespace mt::server::http::testing {

void FakeJobManager::SetJob(v1::Job job, std::vector<v1::JobEvent> events) {
  int64_t seq = 0;
  for (v1::JobEvent& e : events) {
    e.set_job_id(job.id());
    e.set_seq(++seq);
  }
  job.set_last_seq(seq);
  events_[job.id()] = std::move(events);
  jobs_[job.id()] = std::move(job);
}

void FakeJobManager::SetProgress(const std::string& id, const v1::BatchProgress& p) {
  progress_[id] = p;
  ++progress_version_[id];
}

absl::StatusOr<v1::Job> FakeJobManager::Get(const std::string& job_id) const {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError("no job " + job_id);
  return it->second;
}

std::vector<v1::Job> FakeJobManager::List(v1::JobState state) const {
  std::vector<v1::Job> out;
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {  // ids sort by age: newest first
    if (state == v1::JOB_STATE_UNSPECIFIED || it->second.state() == state) out.push_back(it->second);
  }
  return out;
}

std::vector<v1::Job> FakeJobManager::ListVisibleTo(v1::JobState state, const Caller& caller) const {
  std::vector<v1::Job> out;
  for (const v1::Job& j : List(state)) {
    if (CheckJobAccess(caller, j).ok()) out.push_back(j);
  }
  return out;
}

absl::StatusOr<WatchBatch> FakeJobManager::Watch(const std::string& job_id, int64_t from_seq,
                                                 bool follow, int64_t progress_version,
                                                 std::chrono::milliseconds) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError("no job " + job_id);
  if (from_seq < 1 || from_seq > it->second.last_seq() + 1) {
    return absl::InvalidArgumentError("invalid from_seq");
  }
  WatchBatch b;
  b.progress_version = progress_version;
  for (const v1::JobEvent& e : events_[job_id]) {
    if (e.seq() >= from_seq) b.events.push_back(e);
  }
  if (!follow) {
    b.finished = true;
    return b;
  }
  if (progress_.count(job_id) && progress_version_[job_id] > progress_version) {
    b.has_progress = true;
    *b.progress.mutable_progress() = progress_[job_id];
    b.progress.set_seq(it->second.last_seq());
    b.progress_version = progress_version_[job_id];
  }
  return b;
}

absl::StatusOr<ActivationsResult> FakeJobManager::Activations(const std::string& job_id,
                                                              const ModelInput& input,
                                                              const CheckpointChoice&) {
  if (!jobs_.count(job_id)) return absl::NotFoundError("no job " + job_id);
  last_input = input;
  return activations;
}

absl::StatusOr<v1::PredictResponse> FakeJobManager::Predict(const std::string& job_id,
                                                            const ModelInput& input,
                                                            const CheckpointChoice&) {
  if (!jobs_.count(job_id)) return absl::NotFoundError("no job " + job_id);
  last_input = input;
  return prediction;
}

}  // namespace mt::server::http::testing
