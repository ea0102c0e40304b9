#include "server/state_dir_lock.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/fixtures.h"

namespace mt::server {
namespace {

using ::testing::HasSubstr;

using ::mt::testing::FreshDir;

TEST(StateDirLock, SecondHolderIsRefusedNamingTheFirstsPid) {
  const std::string dir = FreshDir("lock_second");
  absl::StatusOr<std::unique_ptr<StateDirLock>> first = StateDirLock::Acquire(dir);
  ASSERT_TRUE(first.ok()) << first.status();
  // flock locks belong to open files, so a second open in this same process conflicts like a
  // second daemon would.
  absl::StatusOr<std::unique_ptr<StateDirLock>> second = StateDirLock::Acquire(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            "state directory " + dir + " is in use by another mt daemon (pid " +
                std::to_string(getpid()) + ")");
}

TEST(StateDirLock, PidFileHoldsTheOwnersPidAndReleaseLetsTheNextOneIn) {
  const std::string dir = FreshDir("lock_release");
  {
    absl::StatusOr<std::unique_ptr<StateDirLock>> first = StateDirLock::Acquire(dir);
    ASSERT_TRUE(first.ok()) << first.status();
    std::ifstream f(dir + "/daemon.lock");
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_EQ(ss.str(), std::to_string(getpid()));
  }
  absl::StatusOr<std::unique_ptr<StateDirLock>> again = StateDirLock::Acquire(dir);
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST(StateDirLock, CreatesTheStateDirectoryAndItsJobsFolder) {
  const std::string dir = FreshDir("lock_create") + "/new/state";
  absl::StatusOr<std::unique_ptr<StateDirLock>> lock = StateDirLock::Acquire(dir);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/jobs"));
}

TEST(StateDirLock, UncreatableDirectoryIsPermissionDeniedNamingThePath) {
  const std::string file = FreshDir("lock_uncreatable") + "/a_file";
  std::ofstream(file) << "x";
  absl::StatusOr<std::unique_ptr<StateDirLock>> lock = StateDirLock::Acquire(file + "/state");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(lock.status().message(),
              HasSubstr("cannot create state directory " + file + "/state/jobs"));
}

}  // namespace
}  // namespace mt::server
