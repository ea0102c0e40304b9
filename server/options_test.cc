#include "server/options.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace mt::server {
namespace {

TEST(Options, InvalidSettingsAreNamedWithWhatIsAllowed) {
  Options o;
  o.state_dir = "/tmp/x";
  EXPECT_TRUE(ValidateOptions(o).ok());
  Options empty = o;
  empty.state_dir.clear();
  EXPECT_EQ(ValidateOptions(empty).message(), "Options.state_dir is empty");
  Options slots = o;
  slots.max_running_per_device = 0;
  EXPECT_EQ(ValidateOptions(slots).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateOptions(slots).message(), "invalid max_running_per_device '0': must be >= 1");
  Options threads = o;
  threads.cpu_threads = -2;
  EXPECT_EQ(ValidateOptions(threads).message(),
            "invalid cpu_threads '-2': must be >= 0 (0 = every core)");
  Options queued = o;
  EXPECT_EQ(queued.max_queued_per_user, 100);
  queued.max_queued_per_user = 0;
  EXPECT_EQ(ValidateOptions(queued).message(), "invalid max_queued_per_user '0': must be >= 1");
}

TEST(Options, DataDirIsTheOptionElseTheEnvironmentElseData) {
  Options o;
  o.data_dir = "/d";
  EXPECT_EQ(DataDir(o), "/d");
  o.data_dir.clear();
  setenv("MT_DATA_DIR", "/env", 1);
  EXPECT_EQ(DataDir(o), "/env");
  unsetenv("MT_DATA_DIR");
  EXPECT_EQ(DataDir(o), "data");
}

}  // namespace
}  // namespace mt::server
