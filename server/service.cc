#include "server/service.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/http/rpc_stats.h"
#include "server/listen_address.h"
#include "server/tls.h"
#include "server/job_pages.h"
#include "server/job_log.h"

namespace mt::server {
namespace {

// How long a WatchJob wait lasts at most before it looks whether its client is still there.
// Events, progress and shutdown wake the wait at once (the job log's condition variable), so
// this is no poll for them; it only bounds how long the stream of a client that vanished
// without a deadline lingers, since the synchronous API has no cancellation callback.
constexpr std::chrono::milliseconds kClientCheckInterval(1000);

// A follower gets batch progress at most this often (the latest each time): a progress bar
// needs no more, and a write per batch (LeNet-5: ~300 a second), each waking a stream thread
// here and the client, took the training beside them off its two cores several times per step.
constexpr std::chrono::milliseconds kProgressInterval(100);

// Each RPC gets one log line: method, code, latency. Enough to see what the daemon did.
class CallLog {
 public:
  explicit CallLog(const char* method) : method_(method), start_(std::chrono::steady_clock::now()) {}
  grpc::Status Done(grpc::Status s) {
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "rpc %s -> %d%s%s (%.1f ms)\n", method_, static_cast<int>(s.error_code()),
                 s.ok() ? "" : " ", s.ok() ? "" : s.error_message().c_str(), ms);
    http::RpcStats::Global().Record(method_, static_cast<int>(s.error_code()), ms / 1000);
    return s;
  }
  grpc::Status Done(const absl::Status& s) { return Done(ToGrpcStatus(s)); }
  // The client cancelled, its deadline passed, or its connection broke.
  grpc::Status ClientGone() {
    return Done(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
  }

 private:
  const char* method_;
  std::chrono::steady_clock::time_point start_;
};

// A unary handler: logs the call, runs `f` (the response, or why not) and converts its status.
template <typename Response, typename F>
grpc::Status Unary(const char* method, Response* response, F&& f) {
  CallLog log(method);
  absl::StatusOr<Response> r = f();
  if (r.ok()) *response = std::move(*r);
  return log.Done(r.status());
}

// The time left before the client's deadline (none: system_clock's max), at most `cap`.
std::chrono::milliseconds TimeLeft(const grpc::ServerContext& ctx, std::chrono::milliseconds cap) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      ctx.deadline() - std::chrono::system_clock::now());
  return std::clamp(left, std::chrono::milliseconds(0), cap);
}

// The client's deadline on the steady clock; time_point::max() when it set none.
std::chrono::steady_clock::time_point SteadyDeadline(const grpc::ServerContext& ctx) {
  const auto left = ctx.deadline() - std::chrono::system_clock::now();
  // Beyond a day is "no deadline" for a wait here (and keeps the sum below finite).
  if (left > std::chrono::hours(24)) return std::chrono::steady_clock::time_point::max();
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

template <typename Req>
absl::StatusOr<ModelInput> InputOf(const Req& r) {
  ModelInput in;
  switch (r.input_case()) {
    case Req::kValidIndex:
      in.kind = ModelInput::Kind::kValidIndex;
      in.valid_index = r.valid_index();
      return in;
    case Req::kImagePng:
      in.kind = ModelInput::Kind::kImagePng;
      in.image_png = r.image_png();
      return in;
    case Req::kText:
      in.kind = ModelInput::Kind::kText;
      in.text = r.text();
      return in;
    default:
      return absl::InvalidArgumentError(
          "no input: give one of --index K (an example of the held-out split), --image FILE "
          "(mnist) or --text \"...\" (sst2)");
  }
}

// mt-client --epoch N|best, from a request's epoch / best_epoch.
template <typename Req>
CheckpointChoice ChoiceOf(const Req& r) {
  CheckpointChoice which;
  which.epoch = r.epoch();
  which.best = r.best_epoch();
  return which;
}

template <typename Message>
void SetInputEcho(const InputEcho& in, Message* m) {
  m->mutable_input_shape()->Add(in.shape.begin(), in.shape.end());
  m->mutable_input_values()->Add(in.values.begin(), in.values.end());
  for (const std::string& t : in.tokens) m->add_input_tokens(t);
}

// PruneJobs' older_than_seconds: a century covers every job a daemon can hold.
constexpr int64_t kMaxPruneAgeSeconds = int64_t{100} * 366 * 86400;

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

absl::StatusOr<Caller> TrainingServiceImpl::CallerOf(const grpc::ServerContext& ctx) const {
  if (tokens_ == nullptr) return Caller::Local();
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find("authorization");
  return tokens_->Authenticate(it == metadata.end()
                                   ? absl::string_view()
                                   : absl::string_view(it->second.data(), it->second.size()));
}

absl::Status TrainingServiceImpl::Authorize(const grpc::ServerContext& ctx,
                                            const std::string& job_id) const {
  absl::StatusOr<Caller> caller = CallerOf(ctx);
  if (!caller.ok()) return caller.status();
  if (caller->admin) return absl::OkStatus();
  absl::StatusOr<v1::Job> job = manager_->Get(job_id);
  if (!job.ok()) return job.status();
  return CheckJobAccess(*caller, *job);
}

grpc::Status TrainingServiceImpl::SubmitJob(grpc::ServerContext* ctx,
                                            const v1::SubmitJobRequest* req, v1::Job* job) {
  return Unary("SubmitJob", job, [&]() -> absl::StatusOr<v1::Job> {
    absl::StatusOr<Caller> caller = CallerOf(*ctx);
    if (!caller.ok()) return caller.status();
    return manager_->SubmitAs(req->spec(), *caller);
  });
}

grpc::Status TrainingServiceImpl::GetJob(grpc::ServerContext* ctx, const v1::GetJobRequest* req,
                                         v1::Job* job) {
  return Unary("GetJob", job, [&]() -> absl::StatusOr<v1::Job> {
    if (absl::Status s = Authorize(*ctx, req->job_id()); !s.ok()) return s;
    return manager_->Get(req->job_id());
  });
}

grpc::Status TrainingServiceImpl::ListJobs(grpc::ServerContext* ctx,
                                           const v1::ListJobsRequest* req,
                                           v1::ListJobsResponse* resp) {
  return Unary("ListJobs", resp, [&]() -> absl::StatusOr<v1::ListJobsResponse> {
    absl::StatusOr<Caller> caller = CallerOf(*ctx);
    if (!caller.ok()) return caller.status();
    if (!v1::JobState_IsValid(req->state())) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid state filter ", req->state(), ": use a JobState value"));
    }
    return JobsPage(manager_->ListVisibleTo(req->state(), *caller), req->page_size(),
                    req->page_token());
  });
}

grpc::Status TrainingServiceImpl::CancelJob(grpc::ServerContext* ctx,
                                            const v1::CancelJobRequest* req,
                                            v1::Job* job) {
  return Unary("CancelJob", job, [&]() -> absl::StatusOr<v1::Job> {
    if (absl::Status s = Authorize(*ctx, req->job_id()); !s.ok()) return s;
    return manager_->Cancel(req->job_id(), SteadyDeadline(*ctx));
  });
}

grpc::Status TrainingServiceImpl::ResumeJob(grpc::ServerContext* ctx,
                                            const v1::ResumeJobRequest* req, v1::Job* job) {
  return Unary("ResumeJob", job, [&]() -> absl::StatusOr<v1::Job> {
    if (absl::Status s = Authorize(*ctx, req->job_id()); !s.ok()) return s;
    return manager_->Resume(req->job_id());
  });
}

grpc::Status TrainingServiceImpl::Predict(grpc::ServerContext* ctx, const v1::PredictRequest* req,
                                          v1::PredictResponse* resp) {
  return Unary("Predict", resp, [&]() -> absl::StatusOr<v1::PredictResponse> {
    if (absl::Status s = Authorize(*ctx, req->job_id()); !s.ok()) return s;
    absl::StatusOr<ModelInput> in = InputOf(*req);
    if (!in.ok()) return in.status();
    return manager_->Predict(req->job_id(), *in, ChoiceOf(*req));
  });
}

grpc::Status TrainingServiceImpl::DeleteJob(grpc::ServerContext* ctx,
                                            const v1::DeleteJobRequest* req,
                                            v1::DeleteJobResponse* resp) {
  return Unary("DeleteJob", resp, [&]() -> absl::StatusOr<v1::DeleteJobResponse> {
    if (absl::Status s = Authorize(*ctx, req->job_id()); !s.ok()) return s;
    absl::StatusOr<int64_t> freed = manager_->Delete(req->job_id());
    if (!freed.ok()) return freed.status();
    v1::DeleteJobResponse r;
    r.set_job_id(req->job_id());
    r.set_bytes_freed(*freed);
    return r;
  });
}

grpc::Status TrainingServiceImpl::PruneJobs(grpc::ServerContext* ctx,
                                            const v1::PruneJobsRequest* req,
                                            v1::PruneJobsResponse* resp) {
  return Unary("PruneJobs", resp, [&]() -> absl::StatusOr<v1::PruneJobsResponse> {
    absl::StatusOr<Caller> caller = CallerOf(*ctx);
    if (!caller.ok()) return caller.status();
    if (req->older_than_seconds() < 0 || req->older_than_seconds() > kMaxPruneAgeSeconds) {
      return absl::InvalidArgumentError(
          absl::StrCat("--older-than must be between 0 and 100 years, got ",
                       req->older_than_seconds(), " seconds"));
    }
    const int64_t before =
        req->older_than_seconds() == 0 ? 0 : NowMs() - req->older_than_seconds() * 1000;
    absl::StatusOr<JobManager::PruneResult> r = manager_->Prune(before, *caller, req->dry_run());
    if (!r.ok()) return r.status();
    v1::PruneJobsResponse out;
    for (const std::string& id : r->job_ids) out.add_job_ids(id);
    out.set_bytes_freed(r->bytes_freed);
    return out;
  });
}

grpc::Status TrainingServiceImpl::ListDevices(grpc::ServerContext* ctx,
                                              const v1::ListDevicesRequest*,
                                              v1::ListDevicesResponse* resp) {
  return Unary("ListDevices", resp, [&]() -> absl::StatusOr<v1::ListDevicesResponse> {
    if (absl::StatusOr<Caller> caller = CallerOf(*ctx); !caller.ok()) return caller.status();
    v1::ListDevicesResponse r;
    for (v1::Device& d : manager_->Devices()) *r.add_devices() = std::move(d);
    return r;
  });
}

absl::Status TrainingServiceImpl::RequireAdmin(const grpc::ServerContext& ctx) const {
  absl::StatusOr<Caller> caller = CallerOf(ctx);
  if (!caller.ok()) return caller.status();
  if (!caller->admin) {
    return absl::PermissionDeniedError(
        "starting or stopping workers for another daemon needs an admin token (give the "
        "coordinating daemon one in --peer_token_file)");
  }
  if (scale_out_ == nullptr) return absl::UnimplementedError("this daemon hosts no workers");
  return absl::OkStatus();
}

// Rendezvous calls carry their run's secret instead of a user's token: the workers that make
// them hold no user's credentials (rendezvous_table.h checks the secret).
grpc::Status TrainingServiceImpl::RendezvousSet(grpc::ServerContext*,
                                                const v1::RendezvousSetRequest* req,
                                                v1::RendezvousSetResponse* resp) {
  return Unary("RendezvousSet", resp, [&]() -> absl::StatusOr<v1::RendezvousSetResponse> {
    if (scale_out_ == nullptr) return absl::UnimplementedError("this daemon serves no store");
    absl::Status s = scale_out_->table().Set(req->scope(), req->secret(), req->key(),
                                             std::vector<char>(req->value().begin(),
                                                               req->value().end()));
    if (!s.ok()) return s;
    return v1::RendezvousSetResponse();
  });
}

grpc::Status TrainingServiceImpl::RendezvousGet(grpc::ServerContext* ctx,
                                                const v1::RendezvousGetRequest* req,
                                                v1::RendezvousGetResponse* resp) {
  return Unary("RendezvousGet", resp, [&]() -> absl::StatusOr<v1::RendezvousGetResponse> {
    if (scale_out_ == nullptr) return absl::UnimplementedError("this daemon serves no store");
    const std::chrono::milliseconds wait =
        std::min(std::chrono::milliseconds(std::max<int64_t>(0, req->timeout_ms())),
                 TimeLeft(*ctx, std::chrono::minutes(10)));
    absl::StatusOr<std::vector<std::vector<char>>> values = scale_out_->table().Get(
        req->scope(), req->secret(), std::vector<std::string>(req->keys().begin(), req->keys().end()),
        wait);
    if (!values.ok()) return values.status();
    v1::RendezvousGetResponse r;
    for (const std::vector<char>& v : *values) r.add_values(std::string(v.begin(), v.end()));
    return r;
  });
}

grpc::Status TrainingServiceImpl::PeerStartWorkers(grpc::ServerContext* ctx,
                                                   const v1::PeerStartWorkersRequest* req,
                                                   v1::PeerStartWorkersResponse* resp) {
  return Unary("PeerStartWorkers", resp, [&]() -> absl::StatusOr<v1::PeerStartWorkersResponse> {
    if (absl::Status s = RequireAdmin(*ctx); !s.ok()) return s;
    if (absl::Status s = scale_out_->StartHosted(*req); !s.ok()) return s;
    v1::PeerStartWorkersResponse r;
    r.set_host(scale_out_->worker_host());
    return r;
  });
}

grpc::Status TrainingServiceImpl::PeerStopWorkers(grpc::ServerContext* ctx,
                                                  const v1::PeerStopWorkersRequest* req,
                                                  v1::PeerStopWorkersResponse* resp) {
  return Unary("PeerStopWorkers", resp, [&]() -> absl::StatusOr<v1::PeerStopWorkersResponse> {
    if (absl::Status s = RequireAdmin(*ctx); !s.ok()) return s;
    scale_out_->StopHosted(req->scope());
    return v1::PeerStopWorkersResponse();
  });
}

grpc::Status TrainingServiceImpl::WatchJob(grpc::ServerContext* ctx,
                                           const v1::WatchJobRequest* req,
                                           grpc::ServerWriter<v1::JobEvent>* writer) {
  CallLog log("WatchJob");
  if (absl::Status s = Authorize(*ctx, req->job_id()); !s.ok()) return log.Done(s);
  int64_t next = req->from_seq() == 0 ? 1 : req->from_seq();
  int64_t progress_version = 0;
  std::chrono::steady_clock::time_point progress_sent{};
  while (true) {
    if (progress_version > 0) {
      // Events that arrive meanwhile wait for the rest of the interval too (at most 0.1 s).
      const auto next_progress = progress_sent + kProgressInterval;
      if (std::chrono::steady_clock::now() < next_progress) std::this_thread::sleep_until(next_progress);
    }
    // A client that left (or whose deadline passed) stops the stream at once.
    if (ctx->IsCancelled()) return log.ClientGone();
    if (std::chrono::system_clock::now() >= ctx->deadline()) {
      return log.Done(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   "the client's deadline passed while following the job"));
    }
    // The wait ends at the first new event, at the client's deadline, or when it is time to
    // look whether the client is still there.
    absl::StatusOr<WatchBatch> b =
        manager_->Watch(req->job_id(), next, req->follow(), progress_version,
                        TimeLeft(*ctx, kClientCheckInterval));
    if (!b.ok()) return log.Done(b.status());
    for (const v1::JobEvent& e : b->events) {
      if (!writer->Write(e)) return log.ClientGone();
      next = std::max(next, e.seq() + 1);
    }
    if (b->has_progress) {
      progress_version = b->progress_version;
      if (!writer->Write(b->progress)) return log.ClientGone();
      progress_sent = std::chrono::steady_clock::now();
    }
    if (b->finished) return log.Done(grpc::Status::OK);
  }
}

grpc::Status TrainingServiceImpl::GetActivations(grpc::ServerContext* ctx,
                                                 const v1::ActivationsRequest* req,
                                                 grpc::ServerWriter<v1::ActivationChunk>* writer) {
  CallLog log("GetActivations");
  if (absl::Status s = Authorize(*ctx, req->job_id()); !s.ok()) return log.Done(s);
  absl::StatusOr<ModelInput> in = InputOf(*req);
  if (!in.ok()) return log.Done(in.status());
  absl::StatusOr<ActivationsResult> r = manager_->Activations(req->job_id(), *in, ChoiceOf(*req));
  if (!r.ok()) return log.Done(r.status());
  const size_t per_chunk = kChunkBytes / sizeof(float);
  bool first = true;
  for (const Activation& a : r->layers) {
    size_t offset = 0;
    do {
      if (ctx->IsCancelled()) return log.ClientGone();
      const size_t n = std::min(per_chunk, a.data.size() - offset);
      v1::ActivationChunk c;
      c.set_layer(a.layer);
      if (offset == 0) {
        for (int64_t d : a.shape) c.add_shape(d);
      }
      c.set_offset(static_cast<int64_t>(offset));
      c.mutable_data()->Add(a.data.begin() + offset, a.data.begin() + offset + n);
      offset += n;
      c.set_last(offset == a.data.size());
      c.set_label(r->label);
      if (first) {
        // The input is one example (a 28x28 image, a sentence): far below a chunk.
        SetInputEcho(r->input, &c);
        c.set_checkpoint_epoch(r->checkpoint_epoch);
        first = false;
      }
      if (!writer->Write(c)) return log.ClientGone();
    } while (offset < a.data.size());
  }
  return log.Done(grpc::Status::OK);
}

grpc::Status TrainingServiceImpl::ExportModel(grpc::ServerContext* ctx,
                                              const v1::ExportModelRequest* req,
                                              grpc::ServerWriter<v1::FileChunk>* writer) {
  CallLog log("ExportModel");
  if (absl::Status s = Authorize(*ctx, req->job_id()); !s.ok()) return log.Done(s);
  absl::StatusOr<std::string> bytes = manager_->Export(req->job_id(), ChoiceOf(*req));
  if (!bytes.ok()) return log.Done(bytes.status());
  size_t offset = 0;
  do {
    if (ctx->IsCancelled()) return log.ClientGone();
    const size_t n = std::min(kChunkBytes, bytes->size() - offset);
    v1::FileChunk c;
    c.set_data(bytes->substr(offset, n));
    c.set_offset(static_cast<int64_t>(offset));
    c.set_total_size(static_cast<int64_t>(bytes->size()));
    offset += n;
    if (!writer->Write(c)) return log.ClientGone();
  } while (offset < bytes->size());
  return log.Done(grpc::Status::OK);
}

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const Options& options,
                                                      const std::string& listen) {
  ServeOptions serve;
  serve.listen = listen;
  return Start(options, serve);
}

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const Options& options,
                                                      const ServeOptions& serve) {
  // Everything that can be checked without side effects comes first, so a refusal leaves no
  // job started, recovered or interrupted.
  absl::StatusOr<ListenAddress> address = ParseListenAddress(serve.listen);
  if (!address.ok()) return address.status();
  const bool tls = !serve.tls_cert_file.empty() || !serve.tls_key_file.empty();
  TlsFiles tls_files;
  if (tls) {
    absl::StatusOr<TlsFiles> f = LoadTlsFiles(serve.tls_cert_file, serve.tls_key_file);
    if (!f.ok()) return f.status();
    tls_files = std::move(*f);
  }
  std::unique_ptr<Daemon> d(new Daemon());
  if (!serve.tokens_file.empty()) {
    absl::StatusOr<TokenTable> t = TokenTable::Load(serve.tokens_file);
    if (!t.ok()) return t.status();
    d->tokens_ = std::make_unique<TokenTable>(std::move(*t));
  }
  if (!IsLoopback(*address) && !(tls && d->tokens_) && !serve.insecure) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen on ", serve.listen, " without TLS and token auth (",
        tls ? "no --tokens_file" : (d->tokens_ ? "no --tls_cert/--tls_key" : "neither is set"),
        "): anyone who can reach it could read, cancel and submit jobs; set --tls_cert, "
        "--tls_key and --tokens_file, or pass --insecure to accept that"));
  }
  if (absl::Status s = ProbeBind(*address, serve.listen); !s.ok()) return s;
  http::HttpOptions http_options;
  if (!serve.http_listen.empty()) {
    http_options.listen = serve.http_listen;
    http_options.web_dir = serve.web_dir;
    if (tls) {
      http_options.tls_cert_file = serve.tls_cert_file;
      http_options.tls_key_file = serve.tls_key_file;
    }
    http_options.insecure = serve.insecure;
    if (absl::Status s = http::CheckHttpListen(http_options, d->tokens_ != nullptr); !s.ok()) {
      return s;
    }
  }

  Options job_options = options;
  absl::StatusOr<std::unique_ptr<ScaleOut>> scale_out = MakeScaleOut(options, serve.scale_out);
  if (!scale_out.ok()) return scale_out.status();
  d->scale_out_ = std::move(*scale_out);
  if (!serve.scale_out.peers.empty()) {
    job_options.peer_launcher = d->scale_out_.get();
    job_options.peer_count = static_cast<int>(serve.scale_out.peers.size());
  }
  absl::StatusOr<std::unique_ptr<JobManager>> m = JobManager::Create(job_options);
  if (!m.ok()) return m.status();
  d->manager_ = std::move(*m);
  d->service_ = std::make_unique<TrainingServiceImpl>(d->manager_.get(), d->tokens_.get());
  d->service_->set_scale_out(d->scale_out_.get());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (tls) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({tls_files.key_pem, tls_files.cert_pem});
    credentials = grpc::SslServerCredentials(ssl);
  }
  builder.AddListeningPort(serve.listen, credentials, &d->port_);
  // gRPC sets SO_REUSEPORT by default, which lets a second daemon bind the same address and
  // take half of the connections; the address must be this daemon's alone.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(d->service_.get());
  // Uploads (PNG images) are small; replies are chunked. Limits on both ends, stated.
  builder.SetMaxReceiveMessageSize(16 << 20);
  builder.SetMaxSendMessageSize(16 << 20);
  d->server_ = builder.BuildAndStart();
  if (!d->server_ || d->port_ == 0) {
    d->manager_->Shutdown();
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", serve.listen,
        ": the address is in use or not available on this machine (use --listen=HOST:PORT)"));
  }
  if (!serve.http_listen.empty()) {
    absl::StatusOr<std::unique_ptr<http::HttpServer>> h =
        http::HttpServer::Start(d->manager_.get(), d->tokens_.get(), http_options);
    if (!h.ok()) {
      d->Shutdown();
      return h.status();
    }
    d->http_ = std::move(*h);
  }
  d->server_->GetHealthCheckService()->SetServingStatus(true);
  d->scale_out_->set_advertise(AdvertisedAddress(serve.listen, d->port_));
  return d;
}

void Daemon::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // A daemon whose start failed has no server (and perhaps no manager) to stop.
  if (server_) server_->GetHealthCheckService()->SetServingStatus(false);
  // Jobs first: that ends every WatchJob stream with a terminal event, so the server's own
  // shutdown below does not have to cut them off.
  if (manager_) manager_->Shutdown();
  if (http_) http_->Stop();  // after the manager: that ends the API's long polls
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

void Daemon::Wait() {
  if (server_) server_->Wait();
}

Daemon::~Daemon() { Shutdown(); }

}  // namespace mt::server
