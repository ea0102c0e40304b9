#include "common/cli_flags.h"

#include <gtest/gtest.h>

namespace mt {
namespace {

using Args = std::vector<std::string>;

TEST(UnderscoreFlagNames, DashesInNamesOnly) {
  EXPECT_EQ(UnderscoreFlagNames({"--train-size=4000", "--batch-size", "32", "-data-dir=/a-b",
                                 "--lr=1e-3", "--task", "mnist", "pos-arg", "--", "--keep-this"}),
            (Args{"--train_size=4000", "--batch_size", "32", "-data_dir=/a-b", "--lr=1e-3",
                  "--task", "mnist", "pos-arg", "--", "--keep-this"}));
  EXPECT_EQ(UnderscoreFlagNames({"--train_size=1", "-", "--x=a-b=c-d"}),
            (Args{"--train_size=1", "-", "--x=a-b=c-d"}));
}

TEST(FindEarlyExit, HelpAndVersion) {
  EXPECT_EQ(FindEarlyExit({"--task=mnist"}), EarlyExit::kNone);
  EXPECT_EQ(FindEarlyExit({"--task=mnist", "--help"}), EarlyExit::kHelp);
  EXPECT_EQ(FindEarlyExit({"-h"}), EarlyExit::kHelp);
  EXPECT_EQ(FindEarlyExit({"--helpfull"}), EarlyExit::kHelp);
  EXPECT_EQ(FindEarlyExit({"--version", "--help"}), EarlyExit::kVersion);
  EXPECT_EQ(FindEarlyExit({"--", "--help"}), EarlyExit::kNone);
  EXPECT_EQ(FindEarlyExit({"--help_me"}), EarlyExit::kNone);
}

}  // namespace
}  // namespace mt
