// How a training process finds its place in a data-parallel job, whoever launched it: its own
// flags (mt-train --rank --world_size --rendezvous), Slurm (srun sets SLURM_PROCID and
// SLURM_NTASKS), Open MPI (mpirun sets OMPI_COMM_WORLD_RANK and OMPI_COMM_WORLD_SIZE), or the
// daemon (which passes flags). Then joining it: the rendezvous store, a Gloo communicator, and
// DataParallel attached to the trainer.
#ifndef MT_ENGINE_TRAIN_DIST_LAUNCH_H_
#define MT_ENGINE_TRAIN_DIST_LAUNCH_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/dist/communicator.h"
#include "engine/dist/rendezvous_store.h"
#include "engine/models/models.h"
#include "engine/train/data_parallel.h"
#include "engine/train/trainer.h"

namespace mt::train {

// Most ranks one job may have (a bound on what flags and the environment may ask for).
inline constexpr int kMaxWorldSize = 1024;

struct WorldSpec {
  int rank = 0;
  int size = 1;
  std::string rendezvous;  // a folder or host:port; empty when size == 1
  std::string source;      // where rank and size came from, for messages: "--rank/--world_size"
};

// flag_rank / flag_world_size < 0: not given. Flags win; else SLURM_PROCID/SLURM_NTASKS; else
// OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE; else rank 0 of 1. The rendezvous: the flag, else
// $MT_RENDEZVOUS. InvalidArgument naming the flag or variable for a bad or half-given pair, a
// size over kMaxWorldSize, or size > 1 without a rendezvous. `getenv` is std::getenv in
// binaries (a parameter so tests need not change the process environment).
absl::StatusOr<WorldSpec> ResolveWorld(int flag_rank, int flag_world_size,
                                       const std::string& flag_rendezvous,
                                       const std::function<const char*(const char*)>& getenv);

struct JoinOptions {
  // Bounds the rendezvous and every collective: a dead or hung rank becomes an error naming it
  // after at most this long.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // Bounds the rendezvous when longer than `timeout` (0: `timeout`).
  std::chrono::milliseconds rendezvous_timeout{0};
  // The address this rank listens on for its peers (loopback: every rank on this machine).
  std::string host = "127.0.0.1";
  // Namespaces the job's keys in a shared store.
  std::string key_prefix = "mt";
};

// A rank's membership of the job: owns the store, the communicator and DataParallel, which the
// trainer's hooks use; keep it alive until Trainer::Run has returned.
class JoinedWorld {
 public:
  // Collective: opens world.rendezvous, connects to every rank and attaches DataParallel to
  // `trainer` (restored first on rank 0 when resuming). Errors name the rank.
  static absl::StatusOr<std::unique_ptr<JoinedWorld>> Join(const WorldSpec& world,
                                                           const JoinOptions& options,
                                                           Trainer* trainer,
                                                           models::Model* model);
  // The same through a store the caller opened (e.g. the coordinating daemon's own table).
  static absl::StatusOr<std::unique_ptr<JoinedWorld>> Join(
      const WorldSpec& world, const JoinOptions& options, Trainer* trainer, models::Model* model,
      std::unique_ptr<dist::RendezvousStore> store);
  // The cancel flag for Trainer::Run (see DataParallel::ShareCancel).
  const std::atomic<bool>* ShareCancel(const std::atomic<bool>* requested) {
    return data_parallel_->ShareCancel(requested);
  }
  // OK, or the communicator's error that stopped the run (its code: UNAVAILABLE or
  // DEADLINE_EXCEEDED), naming the ranks.
  absl::Status status() const { return data_parallel_->status(); }
  dist::Communicator* communicator() { return comm_.get(); }

 private:
  std::unique_ptr<dist::RendezvousStore> store_;
  std::unique_ptr<dist::Communicator> comm_;
  std::unique_ptr<DataParallel> data_parallel_;
};

// Makes SIGINT and SIGTERM set the returned flag instead of killing the process (so every rank
// stops at the same batch, see DataParallel::ShareCancel). Call once, from main.
const std::atomic<bool>* StopOnSignals();

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_DIST_LAUNCH_H_
