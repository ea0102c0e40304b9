#include "server/grpc_rendezvous_store.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace mt::server {
namespace {

// Beyond the store's own wait: time for the call itself on a slow network.
constexpr std::chrono::seconds kCallSlack(30);

absl::Status FromGrpc(const grpc::Status& s, const std::string& address) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat("rendezvous store at ", address, ": ", s.error_message()));
}

}  // namespace

absl::Status GrpcRendezvousStore::Set(const std::string& key, const std::vector<char>& value) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCallSlack);
  v1::RendezvousSetRequest req;
  req.set_scope(scope_);
  req.set_secret(secret_);
  req.set_key(key);
  req.set_value(std::string(value.begin(), value.end()));
  v1::RendezvousSetResponse resp;
  return FromGrpc(stub_->RendezvousSet(&ctx, req, &resp), address_);
}

absl::StatusOr<std::vector<std::vector<char>>> GrpcRendezvousStore::GetAll(
    const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout + kCallSlack);
  v1::RendezvousGetRequest req;
  req.set_scope(scope_);
  req.set_secret(secret_);
  for (const std::string& k : keys) req.add_keys(k);
  req.set_timeout_ms(timeout.count());
  v1::RendezvousGetResponse resp;
  if (absl::Status s = FromGrpc(stub_->RendezvousGet(&ctx, req, &resp), address_); !s.ok()) {
    return s;
  }
  if (resp.values_size() != static_cast<int>(keys.size())) {
    return absl::InternalError(absl::StrCat("rendezvous store at ", address_, " answered ",
                                            resp.values_size(), " values for ", keys.size(),
                                            " keys"));
  }
  std::vector<std::vector<char>> out;
  for (const std::string& v : resp.values()) out.emplace_back(v.begin(), v.end());
  return out;
}

absl::StatusOr<std::vector<char>> GrpcRendezvousStore::Get(const std::string& key,
                                                           std::chrono::milliseconds timeout) {
  absl::StatusOr<std::vector<std::vector<char>>> v = GetAll({key}, timeout);
  if (!v.ok()) return v.status();
  return std::move((*v)[0]);
}

absl::Status GrpcRendezvousStore::Wait(const std::vector<std::string>& keys,
                                       std::chrono::milliseconds timeout) {
  return GetAll(keys, timeout).status();
}

absl::StatusOr<std::unique_ptr<dist::RendezvousStore>> OpenGrpcRendezvousStore(
    const std::string& address) {
  const char* scope = std::getenv("MT_RENDEZVOUS_SCOPE");
  const char* secret = std::getenv("MT_RENDEZVOUS_SECRET");
  if (scope == nullptr || secret == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--rendezvous=", address.substr(0, 100),
        " is a daemon's store: MT_RENDEZVOUS_SCOPE and MT_RENDEZVOUS_SECRET must name the run "
        "(the daemon that starts a worker sets them)"));
  }
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (const char* ca = std::getenv("MT_TLS_CA"); ca != nullptr && *ca) {
    std::ifstream in(ca);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read MT_TLS_CA file ", ca));
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pem.str();
    creds = grpc::SslCredentials(ssl);
  }
  return std::unique_ptr<dist::RendezvousStore>(new GrpcRendezvousStore(
      grpc::CreateChannel(address, creds), address, scope, secret));
}

}  // namespace mt::server
