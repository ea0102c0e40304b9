// The gRPC face of the daemon: thin glue over JobManager. Converts absl::Status to grpc::Status
// in one place (ToGrpcStatus), turns manager results into (chunked) streams, and stops streams
// when the client goes away or its deadline passes.
#ifndef MT_SERVER_SERVICE_H_
#define MT_SERVER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/training.grpc.pb.h"
#include "server/job_manager.h"

namespace mt::server {

// The one conversion from the manager's errors to gRPC's (same canonical codes).
grpc::Status ToGrpcStatus(const absl::Status& status);

// Largest payload per streamed message: well under gRPC's 4 MiB default receive limit.
inline constexpr size_t kChunkBytes = 1 << 20;

class TrainingServiceImpl final : public v1::TrainingService::Service {
 public:
  explicit TrainingServiceImpl(JobManager* manager) : manager_(manager) {}

  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest*, v1::Job*) override;
  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest*, v1::Job*) override;
  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                        v1::ListJobsResponse*) override;
  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest*, v1::Job*) override;
  grpc::Status ResumeJob(grpc::ServerContext*, const v1::ResumeJobRequest*, v1::Job*) override;
  grpc::Status WatchJob(grpc::ServerContext*, const v1::WatchJobRequest*,
                        grpc::ServerWriter<v1::JobEvent>*) override;
  grpc::Status GetActivations(grpc::ServerContext*, const v1::ActivationsRequest*,
                              grpc::ServerWriter<v1::ActivationChunk>*) override;
  grpc::Status Predict(grpc::ServerContext*, const v1::PredictRequest*,
                       v1::PredictResponse*) override;
  grpc::Status ExportModel(grpc::ServerContext*, const v1::ExportModelRequest*,
                           grpc::ServerWriter<v1::FileChunk>*) override;
  grpc::Status ListDevices(grpc::ServerContext*, const v1::ListDevicesRequest*,
                           v1::ListDevicesResponse*) override;

 private:
  JobManager* manager_;
};

// A running daemon: job manager + gRPC server (health checking and reflection on).
class Daemon {
 public:
  // listen: "host:port"; port 0 picks a free one (see port()).
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const Options& options,
                                                       const std::string& listen);
  ~Daemon();

  int port() const { return port_; }
  // Graceful and idempotent: running jobs become INTERRUPTED, open streams get a terminal
  // event, in-flight calls get a few seconds to finish, then the server stops.
  void Shutdown();
  void Wait();  // until Shutdown() has completed
  JobManager* manager() { return manager_.get(); }

 private:
  Daemon() = default;
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<TrainingServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace mt::server

#endif  // MT_SERVER_SERVICE_H_
