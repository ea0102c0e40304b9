#include "engine/train/sampler.h"

#include <numeric>
#include <utility>

#include "engine/error.h"

namespace mt::train {

Sampler::Sampler(int64_t size, uint64_t seed, int rank, int world_size)
    : size_(size), rank_(rank), world_size_(world_size), gen_(seed), permutation_(size) {
  MT_CHECK(size >= 0, "Sampler: size must be >= 0, got ", size);
  MT_CHECK(world_size >= 1 && rank >= 0 && rank < world_size,
           "Sampler: rank must be in [0, world_size) with world_size >= 1, got rank ", rank,
           " of ", world_size);
}

int64_t Sampler::shard_size() const {
  return rank_ < size_ % world_size_ ? size_ / world_size_ + 1 : size_ / world_size_;
}

const std::vector<int64_t>& Sampler::NextEpoch() {
  std::iota(permutation_.begin(), permutation_.end(), 0);
  for (int64_t i = size_ - 1; i > 0; --i) std::swap(permutation_[i], permutation_[gen_.Below(i + 1)]);
  if (world_size_ == 1) return permutation_;
  shard_.clear();
  for (int64_t i = rank_; i < size_; i += world_size_) shard_.push_back(permutation_[i]);
  return shard_;
}

}  // namespace mt::train
