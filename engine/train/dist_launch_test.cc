// Where rank and size come from: flags first, then Slurm's variables, then Open MPI's; the
// rendezvous from the flag or MT_RENDEZVOUS; every bad combination named.
#include "engine/train/dist_launch.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace mt::train {
namespace {

// A fake environment, so the test never touches the process's own.
std::function<const char*(const char*)> Env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

TEST(ResolveWorld, NothingGivenIsOneProcess) {
  absl::StatusOr<WorldSpec> w = ResolveWorld(-1, -1, "", Env({}));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->rank, 0);
  EXPECT_EQ(w->size, 1);
  EXPECT_EQ(w->rendezvous, "");
}

TEST(ResolveWorld, FlagsWinOverTheEnvironment) {
  absl::StatusOr<WorldSpec> w =
      ResolveWorld(1, 2, "/shared/rdv",
                   Env({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"MT_RENDEZVOUS", "x:1"}}));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->rank, 1);
  EXPECT_EQ(w->size, 2);
  EXPECT_EQ(w->rendezvous, "/shared/rdv");
  EXPECT_EQ(w->source, "--rank/--world_size");
}

TEST(ResolveWorld, SlurmThenOpenMpi) {
  absl::StatusOr<WorldSpec> slurm = ResolveWorld(
      -1, -1, "",
      Env({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"OMPI_COMM_WORLD_RANK", "0"},
           {"OMPI_COMM_WORLD_SIZE", "2"}, {"MT_RENDEZVOUS", "coord:7000"}}));
  ASSERT_TRUE(slurm.ok()) << slurm.status();
  EXPECT_EQ(slurm->rank, 3);
  EXPECT_EQ(slurm->size, 4);
  EXPECT_EQ(slurm->rendezvous, "coord:7000");
  EXPECT_EQ(slurm->source, "SLURM_PROCID/SLURM_NTASKS");

  absl::StatusOr<WorldSpec> mpi = ResolveWorld(
      -1, -1, "/r", Env({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}}));
  ASSERT_TRUE(mpi.ok()) << mpi.status();
  EXPECT_EQ(mpi->rank, 1);
  EXPECT_EQ(mpi->size, 2);
  EXPECT_EQ(mpi->source, "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE");
}

void ExpectInvalid(const absl::StatusOr<WorldSpec>& w, const std::string& needle) {
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find(needle), std::string::npos) << w.status();
}

TEST(ResolveWorld, BadCombinationsAreNamed) {
  ExpectInvalid(ResolveWorld(0, -1, "/r", Env({})), "--rank and --world_size go together");
  ExpectInvalid(ResolveWorld(2, 2, "/r", Env({})), "must be in [0, 2), got 2");
  ExpectInvalid(ResolveWorld(0, 0, "/r", Env({})), "must be in [1, 1024], got 0");
  ExpectInvalid(ResolveWorld(0, 5000, "/r", Env({})), "got 5000");
  ExpectInvalid(ResolveWorld(0, 2, "", Env({})), "needs a rendezvous");
  ExpectInvalid(ResolveWorld(-1, -1, "/r", Env({{"SLURM_PROCID", "0"}})),
                "SLURM_PROCID is set but SLURM_NTASKS is not");
  ExpectInvalid(ResolveWorld(-1, -1, "/r", Env({{"SLURM_PROCID", "x"}, {"SLURM_NTASKS", "2"}})),
                "SLURM_PROCID must be a whole number, got 'x'");
}

}  // namespace
}  // namespace mt::train
