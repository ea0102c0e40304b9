#include "engine/train/dist_launch.h"

#include <csignal>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/dist/gloo_communicator.h"
#include "engine/dist/store_factory.h"

namespace mt::train {
namespace {

// One launcher's pair of variables, both set or neither.
absl::StatusOr<bool> FromEnvironment(const char* rank_var, const char* size_var,
                                     const std::function<const char*(const char*)>& getenv,
                                     WorldSpec* out) {
  const char* rank = getenv(rank_var);
  const char* size = getenv(size_var);
  if (rank == nullptr && size == nullptr) return false;
  if (rank == nullptr || size == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(rank == nullptr ? size_var : rank_var,
                                                   " is set but ",
                                                   rank == nullptr ? rank_var : size_var,
                                                   " is not; set both or neither"));
  }
  if (!absl::SimpleAtoi(rank, &out->rank)) {
    return absl::InvalidArgumentError(
        absl::StrCat(rank_var, " must be a whole number, got '", std::string(rank).substr(0, 20), "'"));
  }
  if (!absl::SimpleAtoi(size, &out->size)) {
    return absl::InvalidArgumentError(
        absl::StrCat(size_var, " must be a whole number, got '", std::string(size).substr(0, 20), "'"));
  }
  out->source = absl::StrCat(rank_var, "/", size_var);
  return true;
}

std::atomic<bool> stop_requested{false};

extern "C" void OnStopSignal(int) { stop_requested.store(true); }

}  // namespace

absl::StatusOr<WorldSpec> ResolveWorld(int flag_rank, int flag_world_size,
                                       const std::string& flag_rendezvous,
                                       const std::function<const char*(const char*)>& getenv) {
  WorldSpec w;
  if (flag_rank >= 0 || flag_world_size >= 0) {
    if (flag_rank < 0 || flag_world_size < 0) {
      return absl::InvalidArgumentError(
          "--rank and --world_size go together: give both (rank in [0, world_size)) or neither");
    }
    w.rank = flag_rank;
    w.size = flag_world_size;
    w.source = "--rank/--world_size";
  } else {
    absl::StatusOr<bool> slurm = FromEnvironment("SLURM_PROCID", "SLURM_NTASKS", getenv, &w);
    if (!slurm.ok()) return slurm.status();
    if (!*slurm) {
      absl::StatusOr<bool> mpi =
          FromEnvironment("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", getenv, &w);
      if (!mpi.ok()) return mpi.status();
      if (!*mpi) w.source = "default (one process)";
    }
  }
  if (w.size < 1 || w.size > kMaxWorldSize) {
    return absl::InvalidArgumentError(absl::StrCat("world size from ", w.source, " must be in [1, ",
                                                   kMaxWorldSize, "], got ", w.size));
  }
  if (w.rank < 0 || w.rank >= w.size) {
    return absl::InvalidArgumentError(absl::StrCat("rank from ", w.source, " must be in [0, ",
                                                   w.size, "), got ", w.rank));
  }
  if (w.size > 1) {
    w.rendezvous = flag_rendezvous;
    if (w.rendezvous.empty()) {
      if (const char* env = getenv("MT_RENDEZVOUS"); env != nullptr) w.rendezvous = env;
    }
    if (w.rendezvous.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rank ", w.rank, " of ", w.size, " (from ", w.source,
          ") needs a rendezvous where the workers meet: --rendezvous=DIR (a folder every worker "
          "can see) or --rendezvous=HOST:PORT (a daemon's store), or set MT_RENDEZVOUS"));
    }
  }
  return w;
}

absl::StatusOr<std::unique_ptr<JoinedWorld>> JoinedWorld::Join(const WorldSpec& world,
                                                               const JoinOptions& options,
                                                               Trainer* trainer,
                                                               models::Model* model) {
  absl::StatusOr<std::unique_ptr<dist::RendezvousStore>> store =
      dist::OpenRendezvousStore(world.rendezvous);
  if (!store.ok()) return store.status();
  return Join(world, options, trainer, model, std::move(*store));
}

absl::StatusOr<std::unique_ptr<JoinedWorld>> JoinedWorld::Join(
    const WorldSpec& world, const JoinOptions& options, Trainer* trainer, models::Model* model,
    std::unique_ptr<dist::RendezvousStore> store) {
  auto joined = std::unique_ptr<JoinedWorld>(new JoinedWorld());
  joined->store_ = std::move(store);
  dist::GlooOptions gloo;
  gloo.timeout = options.timeout;
  gloo.rendezvous_timeout = options.rendezvous_timeout;
  gloo.hostname = options.host;
  gloo.key_prefix = options.key_prefix;
  absl::StatusOr<std::unique_ptr<dist::GlooCommunicator>> comm =
      dist::GlooCommunicator::Create(world.rank, world.size, *joined->store_, gloo);
  if (!comm.ok()) return comm.status();
  joined->comm_ = std::move(*comm);
  absl::StatusOr<std::unique_ptr<DataParallel>> dp =
      DataParallel::Attach(trainer, model, joined->comm_.get());
  if (!dp.ok()) {
    return absl::Status(dp.status().code(), absl::StrCat("rank ", world.rank, " of ", world.size,
                                                         ": ", dp.status().message()));
  }
  joined->data_parallel_ = std::move(*dp);
  return joined;
}

const std::atomic<bool>* StopOnSignals() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return &stop_requested;
}

}  // namespace mt::train
