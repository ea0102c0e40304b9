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
#include "server/auth.h"
#include "server/http/http_server.h"
#include "server/job_manager.h"
#include "server/scale_out.h"

namespace mt::server {

// The one conversion from the manager's errors to gRPC's (same canonical codes).
grpc::Status ToGrpcStatus(const absl::Status& status);

// Largest payload per streamed message: well under gRPC's 4 MiB default receive limit.
inline constexpr size_t kChunkBytes = 1 << 20;

class TrainingServiceImpl final : public v1::TrainingService::Service {
 public:
  // tokens == nullptr: authentication off, every caller is Caller::Local().
  explicit TrainingServiceImpl(JobManager* manager, const TokenTable* tokens = nullptr)
      : manager_(manager), tokens_(tokens) {}

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
  grpc::Status DeleteJob(grpc::ServerContext*, const v1::DeleteJobRequest*,
                         v1::DeleteJobResponse*) override;
  grpc::Status PruneJobs(grpc::ServerContext*, const v1::PruneJobsRequest*,
                         v1::PruneJobsResponse*) override;
  // Scale-out (scale_out.h): the rendezvous store and the peer calls.
  grpc::Status RendezvousSet(grpc::ServerContext*, const v1::RendezvousSetRequest*,
                             v1::RendezvousSetResponse*) override;
  grpc::Status RendezvousGet(grpc::ServerContext*, const v1::RendezvousGetRequest*,
                             v1::RendezvousGetResponse*) override;
  grpc::Status PeerStartWorkers(grpc::ServerContext*, const v1::PeerStartWorkersRequest*,
                                v1::PeerStartWorkersResponse*) override;
  grpc::Status PeerStopWorkers(grpc::ServerContext*, const v1::PeerStopWorkersRequest*,
                               v1::PeerStopWorkersResponse*) override;
  void set_scale_out(ScaleOut* scale_out) { scale_out_ = scale_out; }

 private:
  // Who calls (from the `authorization` header); Unauthenticated without a valid token.
  absl::StatusOr<Caller> CallerOf(const grpc::ServerContext& ctx) const;
  // CallerOf, then whether that caller may act on the job (auth.h's CheckJobAccess): the one
  // check every call on a job goes through.
  absl::Status Authorize(const grpc::ServerContext& ctx, const std::string& job_id) const;

  // PermissionDenied unless the caller is an admin (a coordinating daemon's token).
  absl::Status RequireAdmin(const grpc::ServerContext& ctx) const;

  JobManager* manager_;
  const TokenTable* tokens_;
  ScaleOut* scale_out_ = nullptr;
};

// How the daemon is reached and by whom.
struct ServeOptions {
  std::string listen = "127.0.0.1:0";  // "host:port"; port 0 picks a free one (see port())
  std::string tls_cert_file;           // with tls_key_file: serve TLS only
  std::string tls_key_file;
  std::string tokens_file;  // set: every call needs a bearer token listed there (auth.h)
  // Without it, a non-loopback address is refused unless TLS and tokens are both on.
  bool insecure = false;
  // Set: also serve the dashboard, its JSON API and /metrics on this "host:port" (port 0 picks
  // one, see http_port()), with the same TLS, tokens and --insecure rule (http/http_server.h).
  std::string http_listen;
  std::string web_dir;  // the dashboard's files (http::DefaultWebDir finds web/)
  // Scale-out across machines (scale_out.h): peers this daemon coordinates, the token and CA
  // for reaching them, where workers reach this daemon, and where this machine's workers
  // listen (also when this daemon is someone else's peer).
  ScaleOutFlags scale_out;
};

// A running daemon: job manager + gRPC server (health checking and reflection on).
class Daemon {
 public:
  // listen: "host:port"; port 0 picks a free one (see port()).
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const Options& options,
                                                       const std::string& listen);
  // Every start-up failure is an error saying why (nothing is left running): a bad or taken
  // address, unreadable TLS or tokens files, a non-loopback address without TLS and tokens,
  // or the job manager's own (state directory in use or unwritable, unreadable database).
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const Options& options,
                                                       const ServeOptions& serve);
  ~Daemon();

  int port() const { return port_; }
  int http_port() const { return http_ ? http_->port() : 0; }  // 0: no --http_listen
  // Graceful and idempotent: running jobs become INTERRUPTED, open streams get a terminal
  // event, in-flight calls get a few seconds to finish, then the server stops.
  void Shutdown();
  void Wait();  // until Shutdown() has completed
  JobManager* manager() { return manager_.get(); }

 private:
  Daemon() = default;
  std::unique_ptr<TokenTable> tokens_;
  std::unique_ptr<ScaleOut> scale_out_;  // before manager_: its runs use it until they end
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<TrainingServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<http::HttpServer> http_;  // declared after manager_: stops before it goes
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace mt::server

#endif  // MT_SERVER_SERVICE_H_
