// The sampler draws the permutation the trainer always drew, and shards it between ranks.
#include "engine/train/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "engine/error.h"

namespace mt::train {
namespace {

// The trainer's loop before the sampler existed.
std::vector<int64_t> OldOrder(Generator& gen, int64_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.Below(i + 1)]);
  return order;
}

TEST(Sampler, SameOrderAsTheOldLoopEpochAfterEpoch) {
  for (uint64_t seed : {1u, 7u, 12345u}) {
    Generator old(seed);
    Sampler s(100, seed);
    EXPECT_EQ(s.shard_size(), 100);
    for (int epoch = 0; epoch < 3; ++epoch) {
      EXPECT_EQ(s.NextEpoch(), OldOrder(old, 100)) << "seed " << seed << " epoch " << epoch;
    }
    EXPECT_EQ(s.State(), old.State());
  }
  // A fixed case: seed 1's first order over 6 examples is a permutation, not the identity.
  Sampler s(6, 1);
  std::vector<int64_t> first = s.NextEpoch();
  std::vector<int64_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  Generator g(1);
  EXPECT_EQ(first, OldOrder(g, 6));
}

TEST(Sampler, StateRestoresTheNextOrder) {
  Sampler a(50, 3);
  a.NextEpoch();
  Sampler b(50, 99);
  ASSERT_TRUE(b.SetState(a.State()).ok());
  EXPECT_EQ(a.NextEpoch(), b.NextEpoch());
  EXPECT_FALSE(b.SetState("not a state").ok());
}

TEST(Sampler, ShardsAreDisjointAndCoverTheEpoch) {
  const int64_t n = 10;
  const int world = 3;
  std::vector<Sampler> ranks;
  for (int r = 0; r < world; ++r) ranks.emplace_back(n, 5, r, world);
  EXPECT_EQ(ranks[0].shard_size(), 4);
  EXPECT_EQ(ranks[1].shard_size(), 3);
  EXPECT_EQ(ranks[2].shard_size(), 3);
  Sampler whole(n, 5);
  for (int epoch = 0; epoch < 2; ++epoch) {
    const std::vector<int64_t> all = whole.NextEpoch();
    std::vector<int64_t> seen;
    for (int r = 0; r < world; ++r) {
      const std::vector<int64_t> shard = ranks[r].NextEpoch();
      ASSERT_EQ(static_cast<int64_t>(shard.size()), ranks[r].shard_size());
      // Rank r takes positions r, r + world, ... of the shared permutation.
      for (size_t i = 0; i < shard.size(); ++i) EXPECT_EQ(shard[i], all[r + i * world]);
      seen.insert(seen.end(), shard.begin(), shard.end());
    }
    std::sort(seen.begin(), seen.end());
    std::vector<int64_t> every(n);
    std::iota(every.begin(), every.end(), 0);
    EXPECT_EQ(seen, every) << "epoch " << epoch;  // disjoint (no repeats) and covering
  }
}

TEST(Sampler, RejectsABadRank) {
  EXPECT_THROW(Sampler(10, 1, 2, 2), Error);
  EXPECT_THROW(Sampler(10, 1, -1, 2), Error);
  EXPECT_THROW(Sampler(10, 1, 0, 0), Error);
  Sampler empty(0, 1);
  EXPECT_TRUE(empty.NextEpoch().empty());
}

}  // namespace
}  // namespace mt::train
