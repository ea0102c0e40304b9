#include "server/distributed_runner.h"

#include <filesystem>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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
      : config_(request.config),
        dir_(request.checkpoint_dir),
        workers_(request.workers),
        launch_(launch) {}

  absl::Status Prepare(train::Trainer& trainer, models::Model& model,
                       const std::atomic<bool>* requested,
                       const std::atomic<bool>** run_cancel) override {
    // Cancelled before it began: start nobody; the trainer stops before its first batch.
    if (requested != nullptr && requested->load()) return absl::OkStatus();
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
          rank, WorkerArgv(launch_.binary, config_, rank, workers_, rendezvous, launch_.timeout),
          absl::StrCat(dir_, "/worker-", rank, ".log"));
      if (!s.ok()) {
        lost_worker_ = true;
        return s;
      }
    }
    train::WorldSpec world;
    world.rank = 0;
    world.size = workers_;
    world.rendezvous = rendezvous;
    train::JoinOptions join;
    join.timeout = launch_.timeout;
    absl::StatusOr<std::unique_ptr<train::JoinedWorld>> joined =
        train::JoinedWorld::Join(world, join, &trainer, &model);
    if (!joined.ok()) {
      lost_worker_ = true;  // a rank never arrived (or the connection failed)
      return joined.status();
    }
    joined_ = std::move(*joined);
    *run_cancel = joined_->ShareCancel(requested);
    return absl::OkStatus();
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
      o->status = absl::Status(
          o->status.code(),
          failure ? absl::StrCat(*failure, "; rank 0 saw: ", rank0)
                  : absl::StrCat("lost a worker of ", workers_, ": rank 0 saw: ", rank0));
      o->interrupted = true;
    }
    procs_.KillAll();
    joined_.reset();  // closes rank 0's connections
  }

 private:
  const train::TrainConfig config_;
  const std::string dir_;
  const int workers_;
  const WorkerLaunch launch_;
  WorkerProcesses procs_;
  std::unique_ptr<train::JoinedWorld> joined_;
  bool lost_worker_ = false;
};

}  // namespace

std::vector<std::string> WorkerArgv(const std::string& binary, const train::TrainConfig& c,
                                    int rank, int world_size, const std::string& rendezvous,
                                    std::chrono::milliseconds timeout) {
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
