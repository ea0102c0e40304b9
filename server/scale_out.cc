#include "server/scale_out.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/short_quote.h"
#include "proto/training.grpc.pb.h"
#include "engine/train/dist_launch.h"
#include "server/job_spec.h"

namespace mt::server {
namespace {

constexpr std::chrono::seconds kPeerCallDeadline(30);
constexpr size_t kMaxScopeBytes = 200;
constexpr size_t kMaxAddressBytes = 300;

std::unique_ptr<v1::TrainingService::Stub> PeerStub(const ScaleOutOptions& o,
                                                     const std::string& peer) {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!o.peer_tls_ca_pem.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = o.peer_tls_ca_pem;
    creds = grpc::SslCredentials(ssl);
  }
  return v1::TrainingService::NewStub(grpc::CreateChannel(peer, creds));
}

void Prepare(const ScaleOutOptions& o, grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + kPeerCallDeadline);
  if (!o.peer_token.empty()) ctx->AddMetadata("authorization", "Bearer " + o.peer_token);
}

// A scope as a file name: letters, digits, '-' and '.'; the rest become '_'.
std::string FileSafe(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  }
  return out;
}

// A small file's text (a token, a CA certificate), trimmed; bounded so a wrong path to a huge
// file fails instead of filling memory.
absl::StatusOr<std::string> ReadSmallFile(const std::string& flag, const std::string& path,
                                          size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", path, " is larger than ", max_bytes, " bytes"));
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

}  // namespace

std::string AdvertisedAddress(const std::string& listen, int port) {
  const std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") return absl::StrCat("127.0.0.1:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<std::unique_ptr<ScaleOut>> MakeScaleOut(const Options& o,
                                                       const ScaleOutFlags& flags) {
  ScaleOutOptions s;
  for (const std::string& peer : flags.peers) {
    if (peer.empty() || peer.size() > 300 || peer.rfind(':') == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--peers must list HOST:PORT addresses separated by commas, got '", peer.substr(0, 60),
          "'"));
    }
  }
  s.peers = flags.peers;
  s.advertise = flags.advertise;
  s.worker_host = flags.worker_host.empty() ? "127.0.0.1" : flags.worker_host;
  s.worker_binary = WorkerBinary(o);
  s.data_dir = DataDir(o);
  s.log_dir = o.state_dir + "/peer-workers";
  if (o.max_workers > 0) s.max_hosted_workers = o.max_workers;
  if (!flags.peer_token_file.empty()) {
    absl::StatusOr<std::string> token =
        ReadSmallFile("--peer_token_file", flags.peer_token_file, 4096);
    if (!token.ok()) return token.status();
    s.peer_token = *token;
  }
  if (!flags.peer_tls_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadSmallFile("--peer_tls_ca", flags.peer_tls_ca_file, 1 << 20);
    if (!ca.ok()) return ca.status();
    s.peer_tls_ca_pem = *ca;
  }
  return std::make_unique<ScaleOut>(std::move(s));
}

v1::JobSpec SpecOfConfig(const train::TrainConfig& c) {
  v1::JobSpec s;
  s.set_task(c.task);
  s.set_model(c.model);
  s.set_epochs(c.epochs);
  s.set_batch_size(c.batch_size);
  s.set_learning_rate(c.lr);
  s.set_optimizer(c.optimizer);
  s.set_train_size(c.train_size);
  s.set_valid_size(c.valid_size);
  s.set_seed(c.seed);
  s.set_threads(c.threads);
  s.set_embeddings_file(c.embeddings_path);
  s.set_embedding_dim(c.embedding_dim);
  s.set_momentum(c.momentum);
  s.set_lr_decay(c.lr_decay);
  return s;
}

ScaleOut::~ScaleOut() {
  std::lock_guard<std::mutex> lock(mu_);
  hosted_.clear();  // kills and reaps what still runs
}

std::string ScaleOut::advertise() const {
  std::lock_guard<std::mutex> lock(mu_);
  return advertise_.empty() ? options_.advertise : advertise_;
}

void ScaleOut::set_advertise(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (options_.advertise.empty()) advertise_ = address;
}

absl::Status ScaleOut::StartRanks(const std::string& peer, const PeerRanks& r) {
  v1::PeerStartWorkersRequest req;
  req.set_scope(r.scope);
  req.set_secret(r.secret);
  req.set_rendezvous(r.rendezvous);
  *req.mutable_spec() = SpecOfConfig(r.config);
  for (int rank : r.ranks) req.add_ranks(rank);
  req.set_world_size(r.world_size);
  req.set_timeout_s(static_cast<int32_t>(std::max<int64_t>(1, r.timeout.count() / 1000)));
  grpc::ClientContext ctx;
  Prepare(options_, &ctx);
  v1::PeerStartWorkersResponse resp;
  grpc::Status s = PeerStub(options_, peer)->PeerStartWorkers(&ctx, req, &resp);
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

void ScaleOut::StopRanks(const std::string& peer, const std::string& scope) {
  v1::PeerStopWorkersRequest req;
  req.set_scope(scope);
  grpc::ClientContext ctx;
  Prepare(options_, &ctx);
  v1::PeerStopWorkersResponse resp;
  PeerStub(options_, peer)->PeerStopWorkers(&ctx, req, &resp);  // best effort
}

absl::Status ScaleOut::StartHosted(const v1::PeerStartWorkersRequest& req) {
  if (req.scope().empty() || req.scope().size() > kMaxScopeBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("scope must have 1 to ", kMaxScopeBytes, " bytes"));
  }
  if (req.rendezvous().empty() || req.rendezvous().size() > kMaxAddressBytes ||
      req.secret().size() > 128) {
    return absl::InvalidArgumentError("rendezvous must be a host:port and the secret short");
  }
  if (req.world_size() < 2 || req.world_size() > train::kMaxWorldSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "world_size must be in [2, ", train::kMaxWorldSize, "], got ", req.world_size()));
  }
  if (req.ranks_size() < 1 || req.ranks_size() > options_.max_hosted_workers) {
    return absl::InvalidArgumentError(absl::StrCat("this daemon runs 1 to ",
                                                   options_.max_hosted_workers,
                                                   " workers per request, not ", req.ranks_size()));
  }
  std::vector<int> ranks(req.ranks().begin(), req.ranks().end());
  std::sort(ranks.begin(), ranks.end());
  for (size_t i = 0; i < ranks.size(); ++i) {
    const int rank = ranks[i];
    if (rank < 1 || rank >= req.world_size()) {
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank, " is outside [1, ",
                                                     req.world_size(), ") (rank 0 is the "
                                                     "coordinator's)"));
    }
    // Two workers with one rank would both claim its rendezvous keys.
    if (i > 0 && ranks[i - 1] == rank) {
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank, " is listed twice"));
    }
  }
  {
    // Checked again below (two requests may race); this one spares starting workers whose
    // logs would overwrite those of the workers already running for the scope.
    std::lock_guard<std::mutex> lock(mu_);
    auto it = hosted_.find(req.scope());
    if (it != hosted_.end() && it->second->running() > 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("workers for scope ", ShortQuote(req.scope()), " already run here"));
    }
  }
  // Checked as a local submission would be, but with this machine's data; a peer reads no
  // file the coordinator names (embeddings must be in this machine's data folder, by name).
  train::TrainConfig config = ConfigFromResolvedSpec(req.spec());
  config.data_dir = options_.data_dir;
  if (!config.embeddings_path.empty()) {
    absl::StatusOr<std::string> file = ConfinedFile(
        "embeddings_file", std::filesystem::path(config.embeddings_path).filename().string(),
        options_.data_dir);
    if (!file.ok()) return file.status();
    config.embeddings_path = *file;
  }
  if (absl::Status s = train::Validate(config); !s.ok()) return s;

  auto procs = std::make_unique<WorkerProcesses>(/*die_with_thread=*/false);
  std::error_code ec;
  std::filesystem::create_directories(options_.log_dir, ec);
  for (int rank : req.ranks()) {
    std::vector<std::string> argv =
        WorkerArgv(options_.worker_binary, config, rank, req.world_size(), req.rendezvous(),
                   std::chrono::seconds(std::max(1, req.timeout_s())),
                   WorkerLaunch().rendezvous_timeout);  // the coordinator's default
    argv.push_back("--dist_host=" + options_.worker_host);
    absl::Status s = procs->Start(
        rank, argv,
        absl::StrCat(options_.log_dir, "/", FileSafe(req.scope()), "-rank-", rank, ".log"),
        {"MT_RENDEZVOUS_SCOPE=" + req.scope(), "MT_RENDEZVOUS_SECRET=" + req.secret()});
    if (!s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Workers of runs that have ended are reaped here, so the map stays small.
  for (auto it = hosted_.begin(); it != hosted_.end();) {
    it = it->second->running() == 0 ? hosted_.erase(it) : std::next(it);
  }
  if (hosted_.count(req.scope())) {
    return absl::AlreadyExistsError(
        absl::StrCat("workers for scope ", ShortQuote(req.scope()), " already run here"));
  }
  hosted_[req.scope()] = std::move(procs);
  return absl::OkStatus();
}

void ScaleOut::StopHosted(const std::string& scope) {
  std::unique_ptr<WorkerProcesses> procs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = hosted_.find(scope);
    if (it == hosted_.end()) return;
    procs = std::move(it->second);
    hosted_.erase(it);
  }
  // A finished run's workers exit by themselves; give them a moment before killing.
  procs->WaitAll(std::chrono::seconds(5));
  procs->KillAll();
}

}  // namespace mt::server
