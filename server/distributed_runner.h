// Runs a job of several data-parallel workers (JobSpec.workers > 1) as real processes: rank 0
// trains on the daemon's own run thread (so progress, epochs and checkpoints flow through the
// usual callbacks), ranks 1..N-1 are mt-worker processes on this machine that this runner
// starts, and all meet through a file rendezvous store in the job's folder (a fresh one per
// run). With peer daemons (PeerLauncher below) the ranks are spread over the machines and meet
// through this daemon's gRPC-served store instead. Jobs of one worker go to the wrapped runner
// unchanged.
//
// Failure: a worker that dies, hangs past the timeout or cannot start ends rank 0's run with an
// error naming the rank (the communicator's and the worker's own account); the run is then
// `interrupted` (INTERRUPTED, resumable: every rank restarts from rank 0's last checkpoint). The
// other workers are killed; none outlives its run.
#ifndef MT_SERVER_DISTRIBUTED_RUNNER_H_
#define MT_SERVER_DISTRIBUTED_RUNNER_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/dist/rendezvous_store.h"
#include "engine/train/config.h"
#include "server/runner.h"

namespace mt::server {

// The ranks a coordinating daemon asks a peer daemon to run (scale_out.h sends it over gRPC).
struct PeerRanks {
  std::string scope, secret;  // the run's rendezvous scope here, and its secret
  std::string rendezvous;     // this daemon's address as the peer's workers reach it
  train::TrainConfig config;
  std::vector<int> ranks;
  int world_size = 0;
  std::chrono::milliseconds timeout{0};
};

// What a daemon with peers (--peers) does beyond its own machine: the rendezvous store it
// serves and the peers that run some ranks. scale_out.h implements it; null: no peers.
class PeerLauncher {
 public:
  virtual ~PeerLauncher() = default;
  virtual std::vector<std::string> peers() const = 0;
  // Opens a scope in this daemon's rendezvous store; its secret.
  virtual absl::StatusOr<std::string> OpenScope(const std::string& scope) = 0;
  virtual void CloseScope(const std::string& scope) = 0;
  // The scope as a store for rank 0, which runs in this daemon.
  virtual std::unique_ptr<dist::RendezvousStore> LocalStore(const std::string& scope,
                                                            const std::string& secret) = 0;
  // Where workers reach this daemon's store ("host:port").
  virtual std::string advertise() const = 0;
  // The address this machine's workers listen on for the others.
  virtual std::string worker_host() const = 0;
  virtual absl::Status StartRanks(const std::string& peer, const PeerRanks& ranks) = 0;
  // Best effort; the peer's workers also stop when their collectives fail.
  virtual void StopRanks(const std::string& peer, const std::string& scope) = 0;
};

struct WorkerLaunch {
  // The mt-worker binary (mt-train's flags plus a network rendezvous store).
  std::string binary;
  // Bounds the rendezvous and every collective: a hung worker fails the run after this long.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // Bounds the start instead when longer: workers starting on a busy machine (exec, loading
  // data) may take longer to arrive than a collective may stall.
  std::chrono::milliseconds rendezvous_timeout{std::chrono::seconds(120)};
  // Set: ranks are spread over this machine and the peers (rank r on machine r mod (peers + 1),
  // machine 0 being this one), meeting through this daemon's store. Not owned.
  PeerLauncher* peers = nullptr;
};

// mt-worker's command line for `rank` of `world_size` training `config`: every field as a flag
// (doubles to 17 digits, so the worker's config equals rank 0's bit for bit).
std::vector<std::string> WorkerArgv(const std::string& binary, const train::TrainConfig& config,
                                    int rank, int world_size, const std::string& rendezvous,
                                    std::chrono::milliseconds timeout,
                                    std::chrono::milliseconds rendezvous_timeout =
                                        std::chrono::milliseconds(0));

class DistributedRunner : public JobRunner {
 public:
  DistributedRunner(std::unique_ptr<JobRunner> local, WorkerLaunch launch)
      : local_(std::move(local)), launch_(std::move(launch)) {}

  void Start(RunRequest request, bool cancelled, RunCallbacks callbacks) override;
  void Cancel(const std::string& job_id) override { local_->Cancel(job_id); }
  void CancelAll() override { local_->CancelAll(); }
  void WaitIdle() override { local_->WaitIdle(); }

 private:
  std::unique_ptr<JobRunner> local_;
  const WorkerLaunch launch_;
};

}  // namespace mt::server

#endif  // MT_SERVER_DISTRIBUTED_RUNNER_H_
