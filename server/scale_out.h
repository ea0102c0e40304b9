// Scale-out across machines (issue 11, "path 2"): a daemon with --peers coordinates peer
// daemons, each contributing worker processes to a job. This daemon's side of it:
//   - as coordinator: the rendezvous store its runs' workers meet through (rendezvous_table.h,
//     served by RendezvousSet/RendezvousGet), and PeerStartWorkers/PeerStopWorkers calls to the
//     peers, authenticated with --peer_token_file's bearer token like any remote client;
//   - as peer: the worker processes it runs for coordinators, by rendezvous scope.
// The runner reaches it only through PeerLauncher (distributed_runner.h).
#ifndef MT_SERVER_SCALE_OUT_H_
#define MT_SERVER_SCALE_OUT_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "proto/training.pb.h"
#include "server/distributed_runner.h"
#include "server/options.h"
#include "server/rendezvous_table.h"
#include "server/worker_processes.h"

namespace mt::server {

// The daemon's flags for it (main.cc), before any file is read.
struct ScaleOutFlags {
  std::vector<std::string> peers;  // --peers
  std::string peer_token_file;     // --peer_token_file
  std::string peer_tls_ca_file;    // --peer_tls_ca
  std::string advertise;           // --advertise
  std::string worker_host = "127.0.0.1";  // --worker_host
};

struct ScaleOutOptions {
  std::vector<std::string> peers;  // host:port of the peer daemons (--peers)
  std::string peer_token;          // bearer token the peers accept (--peer_token_file)
  std::string peer_tls_ca_pem;     // set: reach the peers over TLS (--peer_tls_ca)
  std::string advertise;           // host:port where workers reach this daemon (--advertise)
  std::string worker_host = "127.0.0.1";  // where this machine's workers listen (--worker_host)
  // As a peer: the mt-worker binary, this machine's data, where worker logs go, and the most
  // workers one request may start here.
  std::string worker_binary;
  std::string data_dir;
  std::string log_dir;
  int max_hosted_workers = 64;
};

class ScaleOut : public PeerLauncher {
 public:
  explicit ScaleOut(ScaleOutOptions options) : options_(std::move(options)) {}
  ~ScaleOut() override;

  // PeerLauncher (coordinator side).
  std::vector<std::string> peers() const override { return options_.peers; }
  absl::StatusOr<std::string> OpenScope(const std::string& scope) override {
    return table_.Open(scope);
  }
  void CloseScope(const std::string& scope) override { table_.Close(scope); }
  std::unique_ptr<dist::RendezvousStore> LocalStore(const std::string& scope,
                                                    const std::string& secret) override {
    return std::make_unique<TableRendezvousStore>(&table_, scope, secret);
  }
  std::string advertise() const override;
  std::string worker_host() const override { return options_.worker_host; }
  absl::Status StartRanks(const std::string& peer, const PeerRanks& ranks) override;
  void StopRanks(const std::string& peer, const std::string& scope) override;

  // Set once the daemon's port is known (when --advertise was not given).
  void set_advertise(const std::string& address);

  RendezvousTable& table() { return table_; }

  // Peer side: starts the request's ranks as mt-worker processes with this machine's data.
  // InvalidArgument for a request out of bounds; the ranks' workers exit on their own when the
  // run ends (their collectives finish or fail), or at StopHosted.
  absl::Status StartHosted(const v1::PeerStartWorkersRequest& request);
  void StopHosted(const std::string& scope);

 private:
  ScaleOutOptions options_;
  RendezvousTable table_;
  mutable std::mutex mu_;
  std::string advertise_;                                             // guarded by mu_
  std::map<std::string, std::unique_ptr<WorkerProcesses>> hosted_;    // by scope; guarded by mu_
};

// ScaleOut for a daemon with these settings: reads the token and CA files (bounded) and checks
// the peer addresses; InvalidArgument naming the flag otherwise.
absl::StatusOr<std::unique_ptr<ScaleOut>> MakeScaleOut(const Options& options,
                                                       const ScaleOutFlags& flags);

// Where workers reach a daemon listening on `listen` (its host, or loopback for a wildcard
// host) at `port`, when --advertise is not given.
std::string AdvertisedAddress(const std::string& listen, int port);

// The resolved spec a coordinator sends for `config` (the fields ConfigFromResolvedSpec reads).
v1::JobSpec SpecOfConfig(const train::TrainConfig& config);

}  // namespace mt::server

#endif  // MT_SERVER_SCALE_OUT_H_
