#include "client/workers.h"

#include <gtest/gtest.h>

namespace mt::client {
namespace {

TEST(TakeWorkersFlag, RemovesTheFlagFromSubmit) {
  std::vector<std::string> argv = {"submit", "mnist", "--workers", "2", "--epochs", "1"};
  absl::StatusOr<int32_t> n = TakeWorkersFlag(&argv);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(argv, (std::vector<std::string>{"submit", "mnist", "--epochs", "1"}));

  argv = {"submit", "--workers=4", "mnist"};
  n = TakeWorkersFlag(&argv);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4);
  EXPECT_EQ(argv, (std::vector<std::string>{"submit", "mnist"}));
}

TEST(TakeWorkersFlag, AbsentOrAnotherCommandIsZeroAndUntouched) {
  std::vector<std::string> argv = {"submit", "mnist"};
  EXPECT_EQ(*TakeWorkersFlag(&argv), 0);
  argv = {"list", "--workers", "2"};
  EXPECT_EQ(*TakeWorkersFlag(&argv), 0);
  EXPECT_EQ(argv.size(), 3u);  // left for the parser to refuse
}

TEST(TakeWorkersFlag, BadValuesAreNamed) {
  for (std::vector<std::string> argv : std::vector<std::vector<std::string>>{
           {"submit", "mnist", "--workers", "0"},
           {"submit", "mnist", "--workers=x"},
           {"submit", "mnist", "--workers", "5000"}}) {
    absl::StatusOr<int32_t> n = TakeWorkersFlag(&argv);
    ASSERT_FALSE(n.ok());
    EXPECT_NE(n.status().message().find("--workers expects a whole number from 1 to 1024"),
              std::string::npos)
        << n.status();
  }
  std::vector<std::string> twice = {"submit", "--workers", "2", "--workers=3"};
  EXPECT_EQ(TakeWorkersFlag(&twice).status().message(), "--workers given twice");
  std::vector<std::string> missing = {"submit", "mnist", "--workers"};
  EXPECT_EQ(TakeWorkersFlag(&missing).status().message(), "--workers needs a value");
}

TEST(WorkersNote, OnlyForSeveralWorkers) {
  EXPECT_EQ(WorkersNote(0), "");
  EXPECT_EQ(WorkersNote(1), "");
  EXPECT_EQ(WorkersNote(2), " (2 workers)");
}

TEST(WorkersDetail, SaysTheGlobalBatch) {
  v1::Job job;
  job.mutable_spec()->set_batch_size(32);
  EXPECT_EQ(WorkersDetail(job), "");
  job.set_world_size(2);
  EXPECT_EQ(WorkersDetail(job), "workers: 2 processes (batch 32 each, 64 in all)");
}

}  // namespace
}  // namespace mt::client
