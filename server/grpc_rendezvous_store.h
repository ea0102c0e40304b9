// The client side of a daemon's rendezvous store (RendezvousSet/RendezvousGet): an engine
// RendezvousStore for workers on other machines. Lives in server/ because the engine knows
// nothing of gRPC; mt-worker registers it with engine/dist/store_factory.h for "host:port"
// rendezvous addresses.
#ifndef MT_SERVER_GRPC_RENDEZVOUS_STORE_H_
#define MT_SERVER_GRPC_RENDEZVOUS_STORE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/dist/rendezvous_store.h"
#include "proto/training.grpc.pb.h"

namespace mt::server {

class GrpcRendezvousStore final : public dist::RendezvousStore {
 public:
  GrpcRendezvousStore(std::shared_ptr<grpc::Channel> channel, std::string address,
                      std::string scope, std::string secret)
      : stub_(v1::TrainingService::NewStub(std::move(channel))),
        address_(std::move(address)),
        scope_(std::move(scope)),
        secret_(std::move(secret)) {}

  absl::Status Set(const std::string& key, const std::vector<char>& value) override;
  absl::StatusOr<std::vector<char>> Get(const std::string& key,
                                        std::chrono::milliseconds timeout) override;
  absl::Status Wait(const std::vector<std::string>& keys,
                    std::chrono::milliseconds timeout) override;

 private:
  absl::StatusOr<std::vector<std::vector<char>>> GetAll(const std::vector<std::string>& keys,
                                                        std::chrono::milliseconds timeout);
  std::unique_ptr<v1::TrainingService::Stub> stub_;
  const std::string address_, scope_, secret_;
};

// The store at `address` ("host:port") for the run named by $MT_RENDEZVOUS_SCOPE with secret
// $MT_RENDEZVOUS_SECRET (set by the daemon that starts the worker; kept out of argv so `ps`
// does not show the secret); TLS when $MT_TLS_CA names the CA certificate's PEM file.
absl::StatusOr<std::unique_ptr<dist::RendezvousStore>> OpenGrpcRendezvousStore(
    const std::string& address);

}  // namespace mt::server

#endif  // MT_SERVER_GRPC_RENDEZVOUS_STORE_H_
