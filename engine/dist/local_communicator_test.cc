#include "engine/dist/local_communicator.h"

#include <vector>

#include "gtest/gtest.h"

namespace mt::dist {
namespace {

TEST(LocalCommunicatorTest, CollectivesAreTheIdentity) {
  LocalCommunicator comm;
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.size(), 1);
  std::vector<float> f = {1.5f, -2.25f, 3.0f};
  std::vector<double> d = {0.1, 0.2};
  ASSERT_TRUE(comm.AllReduceSum(f.data(), f.size()).ok());
  ASSERT_TRUE(comm.AllReduceAverage(f.data(), f.size()).ok());
  ASSERT_TRUE(comm.AllReduceAverage(d.data(), d.size()).ok());
  ASSERT_TRUE(comm.Broadcast(f.data(), f.size(), 0).ok());
  ASSERT_TRUE(comm.Barrier().ok());
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.25f, 3.0f}));
  EXPECT_EQ(d, (std::vector<double>{0.1, 0.2}));
}

TEST(LocalCommunicatorTest, BroadcastFromANonexistentRootIsRejected) {
  LocalCommunicator comm;
  float x = 1.0f;
  absl::Status status = comm.Broadcast(&x, 1, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("root must be 0"), std::string::npos) << status;
}

}  // namespace
}  // namespace mt::dist
