// A JobManager whose jobs, events and devices a test sets by hand, for the parts of the HTTP
// port that only read the manager (metrics, the JSON API): exact expectations, no training.
#ifndef MT_SERVER_HTTP_FAKE_JOB_MANAGER_H_
#define MT_SERVER_HTTP_FAKE_JOB_MANAGER_H_

#include <map>
#include <string>
#include <vector>

#include "server/job_manager.h"

namespace mt::server::http::testing {

class FakeJobManager : public JobManager {
 public:
  // Adds or replaces a job (its last_seq is set from its events).
  void SetJob(v1::Job job, std::vector<v1::JobEvent> events = {});
  void SetProgress(const std::string& id, const v1::BatchProgress& p);
  std::vector<v1::Device> devices;
  ActivationsResult activations;
  v1::PredictResponse prediction;
  // The last inference input asked for.
  ModelInput last_input;

  absl::StatusOr<v1::Job> Submit(const v1::JobSpec&) override { return Unimplemented(); }
  absl::StatusOr<v1::Job> SubmitAs(const v1::JobSpec&, const Caller&) override {
    return Unimplemented();
  }
  absl::StatusOr<v1::Job> Get(const std::string& job_id) const override;
  std::vector<v1::Job> List(v1::JobState state) const override;
  std::vector<v1::Job> ListVisibleTo(v1::JobState state, const Caller& caller) const override;
  absl::StatusOr<v1::Job> Cancel(const std::string&,
                                 std::chrono::steady_clock::time_point) override {
    return Unimplemented();
  }
  absl::StatusOr<v1::Job> Resume(const std::string&) override { return Unimplemented(); }
  absl::StatusOr<WatchBatch> Watch(const std::string& job_id, int64_t from_seq, bool follow,
                                   int64_t progress_version,
                                   std::chrono::milliseconds timeout) override;
  using JobManager::Activations;
  using JobManager::Export;
  using JobManager::Predict;
  absl::StatusOr<ActivationsResult> Activations(const std::string& job_id,
                                                const ModelInput& input,
                                                const CheckpointChoice& which) override;
  absl::StatusOr<v1::PredictResponse> Predict(const std::string& job_id,
                                              const ModelInput& input,
                                              const CheckpointChoice& which) override;
  absl::StatusOr<std::string> Export(const std::string&, const CheckpointChoice&) override {
    return Unimplemented();
  }
  absl::StatusOr<int64_t> Delete(const std::string&) override { return Unimplemented(); }
  absl::StatusOr<PruneResult> Prune(int64_t, const Caller&, bool) override {
    return Unimplemented();
  }
  std::vector<v1::Device> Devices() const override { return devices; }
  void Shutdown() override {}

 private:
  static absl::Status Unimplemented() { return absl::UnimplementedError("not in the fake"); }
  std::map<std::string, v1::Job> jobs_;
  std::map<std::string, std::vector<v1::JobEvent>> events_;
  std::map<std::string, v1::BatchProgress> progress_;
  std::map<std::string, int64_t> progress_version_;
};

}  // namespace mt::server::http::testing

#endif  // MT_SERVER_HTTP_FAKE_JOB_MANAGER_H_
