#include "server/checkpoint_choice.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/server/fixtures.h"

namespace mt::server {
namespace {

void Touch(const std::string& path) { std::ofstream(path) << "x"; }

TEST(ChooseCheckpoint, LatestEpochAndBest) {
  const std::string dir = mt::testing::FreshDir("choice");
  for (int e : {1, 2, 3, 5}) Touch(dir + "/epoch-" + std::to_string(e) + ".safetensors");
  Touch(dir + "/latest.safetensors");
  Touch(dir + "/epoch-x.safetensors");  // not an epoch
  Touch(dir + "/epoch-0.safetensors");  // epochs start at 1
  Touch(dir + "/epoch-4.safetensors.tmp");
  EXPECT_EQ(CheckpointEpochs(dir), (std::vector<int64_t>{1, 2, 3, 5}));

  EXPECT_EQ(*ChooseCheckpoint(dir, "job-1", 2, {}), dir + "/latest.safetensors");
  EXPECT_EQ(*ChooseCheckpoint(dir, "job-1", 2, {3, false}), dir + "/epoch-3.safetensors");
  EXPECT_EQ(*ChooseCheckpoint(dir, "job-1", 2, {0, true}), dir + "/epoch-2.safetensors");
  EXPECT_EQ(*ChooseCheckpoint(dir, "job-1", 2, {5, true}), dir + "/epoch-2.safetensors");

  absl::StatusOr<std::string> missing = ChooseCheckpoint(dir, "job-1", 2, {4, false});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "job job-1 has no checkpoint of epoch 4; it has epochs 1-3, 5 (--epoch N or --epoch "
            "best)");
  absl::StatusOr<std::string> best_gone = ChooseCheckpoint(dir, "job-1", 4, {0, true});
  EXPECT_EQ(best_gone.status().message(),
            "job job-1 has no checkpoint of its best epoch, 4; it has epochs 1-3, 5 (--epoch N "
            "or --epoch best)");
  EXPECT_EQ(ChooseCheckpoint(dir, "job-1", 2, {-1, false}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChooseCheckpoint, NoEpochFinished) {
  const std::string dir = mt::testing::FreshDir("choice-empty");
  EXPECT_TRUE(CheckpointEpochs(dir).empty());
  EXPECT_TRUE(CheckpointEpochs(dir + "/absent").empty());
  absl::StatusOr<std::string> best = ChooseCheckpoint(dir, "job-2", 0, {0, true});
  EXPECT_EQ(best.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(best.status().message(),
            "job job-2 has not finished an epoch yet, so it has no best checkpoint");
  absl::StatusOr<std::string> one = ChooseCheckpoint(dir, "job-2", 0, {1, false});
  EXPECT_EQ(one.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(one.status().message(), "job job-2 has no checkpoints: no epoch has finished");
  Touch(dir + "/epoch-1.safetensors");
  EXPECT_EQ(ChooseCheckpoint(dir, "job-2", 1, {2, false}).status().message(),
            "job job-2 has no checkpoint of epoch 2; it has epoch 1 (--epoch N or --epoch best)");
}

}  // namespace
}  // namespace mt::server
