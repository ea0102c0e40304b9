#include "server/distributed_runner.h"

#include <atomic>
#include <filesystem>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/dist/store_factory.h"
#include "engine/train/dist_launch.h"
#include "server/worker_processes.h"

namespace mt::server {
namespace {

namespace fs = std::filesystem;

// mt-train's exit status when its ranks agreed to stop (a cancel or a shutdown): not a failure.
constexpr int kWorkerCancelledExit = 3;

std::string Exact(double x) { return absl::StrFormat("%.17g", x); }

// One multi-worker run: starts ranks 1..N-1, joins rank 0 to them, and accounts for them after.
class WorkerGroupRun : public RunExtension {
 public:
  WorkerGroupRun(const RunRequest& request, const WorkerLaunch& launch)
      : job_id_(request.job_id),
        config_(request.config),
        dir_(request.checkpoint_dir),
        workers_(request.workers),
        launch_(launch) {}

  absl::Status Prepare(train::Trainer& trainer, models::Model& model,
                       const std::atomic<bool>* requested,
                       const std::atomic<bool>** run_cancel) override {
    // Cancelled before it began: start nobody; the trainer stops before its first batch.
    if (requested != nullptr && requested->load()) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<dist::RendezvousStore>> store =
        launch_.peers != nullptr && !launch_.peers->peers().empty() ? StartAcrossPeers()
                                                                    : StartHere();
    if (!store.ok()) {
      lost_worker_ = true;
      return store.status();
    }
    train::WorldSpec world;
    world.rank = 0;
    world.size = workers_;
    train::JoinOptions join;
    join.timeout = launch_.timeout;
    join.rendezvous_timeout = launch_.rendezvous_timeout;
    if (launch_.peers != nullptr) join.host = launch_.peers->worker_host();
    absl::StatusOr<std::unique_ptr<train::JoinedWorld>> joined =
        train::JoinedWorld::Join(world, join, &trainer, &model, std::move(*store));
    if (!joined.ok()) {
      lost_worker_ = true;  // a rank never arrived (or the connection failed)
      return joined.status();
    }
    joined_ = std::move(*joined);
    *run_cancel = joined_->ShareCancel(requested);
    return absl::OkStatus();
  }

  // Every rank on this machine, meeting through a folder in the job's.
  absl::StatusOr<std::unique_ptr<dist::RendezvousStore>> StartHere() {
    const std::string rendezvous = dir_ + "/rendezvous";
    std::error_code ec;
    fs::remove_all(rendezvous, ec);  // the last run's keys would mislead this one's ranks
    fs::create_directories(rendezvous, ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create the rendezvous folder ", rendezvous, ": ", ec.message()));
    }
    for (int rank = 1; rank < workers_; ++rank) {
      absl::Status s = procs_.Start(
          rank, WorkerArgv(launch_.binary, config_, rank, workers_, rendezvous, launch_.timeout,
                           launch_.rendezvous_timeout),
          absl::StrCat(dir_, "/worker-", rank, ".log"));
      if (!s.ok()) return s;
    }
    return dist::OpenRendezvousStore(rendezvous);
  }

  // Ranks spread over this machine and the peers, meeting through this daemon's store.
  absl::StatusOr<std::unique_ptr<dist::RendezvousStore>> StartAcrossPeers() {
    PeerLauncher& peers = *launch_.peers;
    static std::atomic<int64_t> runs{0};
    scope_ = absl::StrCat(job_id_, "/run-", ++runs);
    absl::StatusOr<std::string> secret = peers.OpenScope(scope_);
    if (!secret.ok()) return secret.status();
    const std::vector<std::string> names = peers.peers();
    const int machines = static_cast<int>(names.size()) + 1;
    std::vector<PeerRanks> remote(names.size());
    for (int rank = 1; rank < workers_; ++rank) {
      const int machine = rank % machines;
      if (machine == 0) {
        std::vector<std::string> argv =
            WorkerArgv(launch_.binary, config_, rank, workers_, peers.advertise(), launch_.timeout,
                       launch_.rendezvous_timeout);
        argv.push_back("--dist_host=" + peers.worker_host());
        absl::Status s = procs_.Start(rank, argv, absl::StrCat(dir_, "/worker-", rank, ".log"),
                                      {"MT_RENDEZVOUS_SCOPE=" + scope_,
                                       "MT_RENDEZVOUS_SECRET=" + *secret});
        if (!s.ok()) return s;
      } else {
        remote[machine - 1].ranks.push_back(rank);
      }
    }
    for (size_t i = 0; i < names.size(); ++i) {
      if (remote[i].ranks.empty()) continue;
      PeerRanks& r = remote[i];
      r.scope = scope_;
      r.secret = *secret;
      r.rendezvous = peers.advertise();
      r.config = config_;
      r.world_size = workers_;
      r.timeout = launch_.timeout;
      if (absl::Status s = peers.StartRanks(names[i], r); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("peer ", names[i], " could not start ranks ",
                                                   r.ranks.front(), "..", r.ranks.back(), ": ",
                                                   s.message()));
      }
      started_on_.push_back(names[i]);
    }
    return peers.LocalStore(scope_, *secret);
  }

  void Finish(RunOutcome* o) override {
    const bool comm_failed = joined_ != nullptr && !joined_->status().ok();
    if (o->status.ok()) {
      // Finished or stopped together: the workers end on their own (exit 0, or 3 when cancelled).
      if (!procs_.WaitAll(launch_.timeout)) {
        std::fprintf(stderr, "mt daemon: workers of a finished run did not exit; killing them\n");
      }
    } else if (comm_failed || lost_worker_) {
      // A worker that died is the cause; give its exit a moment to be seen before naming it.
      std::optional<std::string> failure;
      for (int i = 0; i < 100 && !failure; ++i) {
        failure = procs_.FirstFailure({kWorkerCancelledExit});
        if (!failure) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      const std::string rank0(o->status.message());
      const std::string running = failure ? "" : procs_.DescribeRunning();
      o->status = absl::Status(
          o->status.code(),
          failure ? absl::StrCat(*failure, "; rank 0 saw: ", rank0)
                  : absl::StrCat("lost a worker of ", workers_,
                                 started_on_.empty() ? "" : " (some on peer daemons)",
                                 ": rank 0 saw: ", rank0,
                                 running.empty() ? "" : absl::StrCat(" [", running, "]")));
      o->interrupted = true;
    }
    procs_.KillAll();
    joined_.reset();  // closes rank 0's connections
    if (launch_.peers != nullptr && !scope_.empty()) {
      for (const std::string& peer : started_on_) launch_.peers->StopRanks(peer, scope_);
      launch_.peers->CloseScope(scope_);
    }
  }

 private:
  const std::string job_id_;
  const train::TrainConfig config_;
  const std::string dir_;
  const int workers_;
  const WorkerLaunch launch_;
  WorkerProcesses procs_;
  std::unique_ptr<train::JoinedWorld> joined_;
  bool lost_worker_ = false;
  std::string scope_;                   // across peers: this run's rendezvous scope
  std::vector<std::string> started_on_;  // peers running some of its ranks
};

}  // namespace

std::vector<std::string> WorkerArgv(const std::string& binary, const train::TrainConfig& c,
                                    int rank, int world_size, const std::string& rendezvous,
                                    std::chrono::milliseconds timeout,
                                    std::chrono::milliseconds rendezvous_timeout) {
  std::vector<std::string> argv = {
      binary,
      "--task=" + c.task,
      "--model=" + c.model,
      absl::StrCat("--epochs=", c.epochs),
      absl::StrCat("--batch_size=", c.batch_size),
      "--optimizer=" + c.optimizer,
      "--lr=" + Exact(c.lr),
      "--momentum=" + Exact(c.momentum),
      "--weight_decay=" + Exact(c.weight_decay),
      "--lr_decay=" + Exact(c.lr_decay),
      absl::StrCat("--train_size=", c.train_size),
      absl::StrCat("--valid_size=", c.valid_size),
      absl::StrCat("--seed=", c.seed),
      absl::StrCat("--threads=", c.threads),
      "--data_dir=" + c.data_dir,
      absl::StrCat("--embedding_dim=", c.embedding_dim),
      absl::StrCat("--freeze_embeddings=", c.freeze_embeddings ? "true" : "false"),
      "--dropout=" + Exact(c.dropout),
      absl::StrCat("--min_count=", c.min_count),
      absl::StrCat("--rank=", rank),
      absl::StrCat("--world_size=", world_size),
      "--rendezvous=" + rendezvous,
      absl::StrCat("--dist_timeout_s=", std::max<int64_t>(1, timeout.count() / 1000)),
      absl::StrCat("--dist_rendezvous_timeout_s=", rendezvous_timeout.count() / 1000),
  };
  if (!c.embeddings_path.empty()) argv.push_back("--embeddings=" + c.embeddings_path);
  return argv;
}

void DistributedRunner::Start(RunRequest request, bool cancelled, RunCallbacks callbacks) {
  if (request.workers <= 1) {
    local_->Start(std::move(request), cancelled, std::move(callbacks));
    return;
  }
  request.extension = std::make_shared<WorkerGroupRun>(request, launch_);
  const int world = request.workers;
  // Rank 0's metrics are already the whole job's (summed over ranks); say how many trained.
  auto on_epoch = std::move(callbacks.on_epoch);
  callbacks.on_epoch = [on_epoch, world](const v1::EpochMetrics& m) {
    v1::EpochMetrics with_world = m;
    with_world.set_world_size(world);
    return on_epoch ? on_epoch(with_world) : absl::OkStatus();
  };
  local_->Start(std::move(request), cancelled, std::move(callbacks));
}

}  // namespace mt::server
