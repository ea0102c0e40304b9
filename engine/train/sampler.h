// Which examples each step sees: a seeded shuffle per epoch, optionally split between the ranks
// of a data-parallel run.
#ifndef MT_ENGINE_TRAIN_SAMPLER_H_
#define MT_ENGINE_TRAIN_SAMPLER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/random.h"

namespace mt::train {

class Sampler {
 public:
  // `size` examples; rank in [0, world_size). Rank 0 of 1 sees every example.
  Sampler(int64_t size, uint64_t seed, int rank = 0, int world_size = 1);

  // The next epoch's order for this rank. Every rank draws the same permutation of all
  // examples (Fisher–Yates from the end, one Below(i + 1) per position, so a seed gives the same
  // order as always) and keeps positions rank, rank + world_size, ...: the shards are disjoint
  // and together cover the epoch; their sizes differ by at most one.
  const std::vector<int64_t>& NextEpoch();

  int64_t size() const { return size_; }
  // Examples this rank sees per epoch.
  int64_t shard_size() const;
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }

  // The generator's state (checkpointed as mt.rng.shuffle, restored to resume exactly).
  std::string State() const { return gen_.State(); }
  absl::Status SetState(const std::string& state) { return gen_.SetState(state); }

 private:
  int64_t size_;
  int rank_, world_size_;
  Generator gen_;
  std::vector<int64_t> permutation_, shard_;
};

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_SAMPLER_H_
