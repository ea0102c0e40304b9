// Real child processes (/bin/sh): how they ended, in words naming the rank and the log's last
// line; killing and reaping; bounded waits.
#include "server/worker_processes.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <string>

namespace mt::server {
namespace {

std::string Log(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name + ".log";
}

TEST(WorkerProcesses, CleanExitsAreNoFailure) {
  WorkerProcesses w;
  ASSERT_TRUE(w.Start(1, {"/bin/sh", "-c", "exit 0"}, Log("clean1")).ok());
  ASSERT_TRUE(w.Start(2, {"/bin/sh", "-c", "exit 3"}, Log("clean2")).ok());
  ASSERT_TRUE(w.WaitAll(std::chrono::seconds(60)));
  EXPECT_EQ(w.FirstFailure({3}), std::nullopt);
  EXPECT_EQ(w.running(), 0);
}

TEST(WorkerProcesses, AFailedWorkerIsNamedWithItsLastLogLine) {
  WorkerProcesses w;
  ASSERT_TRUE(
      w.Start(2, {"/bin/sh", "-c", "echo starting >&2; echo 'mt-train: no data' >&2; exit 1"},
              Log("fail"))
          .ok());
  ASSERT_TRUE(w.WaitAll(std::chrono::seconds(60)));
  std::optional<std::string> f = w.FirstFailure();
  ASSERT_TRUE(f.has_value());
  EXPECT_NE(f->find("worker rank 2 (pid "), std::string::npos) << *f;
  EXPECT_NE(f->find("exited with status 1: mt-train: no data"), std::string::npos) << *f;
}

TEST(WorkerProcesses, AKilledWorkerIsNamedAndKillAllReapsTheRest) {
  WorkerProcesses w;
  ASSERT_TRUE(w.Start(1, {"/bin/sh", "-c", "exec sleep 600"}, Log("k1")).ok());
  ASSERT_TRUE(w.Start(2, {"/bin/sh", "-c", "exec sleep 600"}, Log("k2")).ok());
  EXPECT_EQ(w.running(), 2);
  EXPECT_FALSE(w.WaitAll(std::chrono::milliseconds(100)));
  ASSERT_EQ(kill(w.pids()[1], SIGSTOP), 0);
  std::string running;
  for (int i = 0; i < 3000 && running.find("rank 2") == std::string::npos; ++i) {
    running = w.DescribeRunning();
    if (running.find("worker rank 2 (pid " + std::to_string(w.pids()[1]) + ") is stopped") ==
        std::string::npos) {
      running.clear();
      usleep(10000);
    }
  }
  EXPECT_NE(running.find("worker rank 1"), std::string::npos) << running;
  EXPECT_NE(running.find("is stopped (not answering)"), std::string::npos) << running;
  ASSERT_EQ(kill(w.pids()[0], SIGKILL), 0);
  std::optional<std::string> f;
  for (int i = 0; i < 3000 && !f; ++i) {
    f = w.FirstFailure();
    if (!f) usleep(10000);
  }
  ASSERT_TRUE(f.has_value());
  EXPECT_NE(f->find("worker rank 1"), std::string::npos) << *f;
  EXPECT_NE(f->find("was killed by signal 9"), std::string::npos) << *f;
  w.KillAll();
  EXPECT_EQ(w.running(), 0);
  w.KillAll();  // idempotent
}

TEST(WorkerProcesses, AMissingBinaryFailsAsExit127) {
  WorkerProcesses w;
  ASSERT_TRUE(w.Start(1, {"/nonexistent/mt-worker"}, Log("missing")).ok());
  ASSERT_TRUE(w.WaitAll(std::chrono::seconds(60)));
  std::optional<std::string> f = w.FirstFailure();
  ASSERT_TRUE(f.has_value());
  EXPECT_NE(f->find("exited with status 127: cannot execute the worker binary"), std::string::npos)
      << *f;
}

TEST(WorkerProcesses, DescribesExits) {
  EXPECT_EQ(DescribeExit(0), "exited with status 0");
  EXPECT_EQ(DescribeExit(9), "was killed by signal 9 (Killed)");
}

}  // namespace
}  // namespace mt::server

namespace mt::server {
namespace {

TEST(WorkerProcesses, PassesExtraEnvironment) {
  WorkerProcesses w(/*die_with_thread=*/false);
  ASSERT_TRUE(w.Start(1, {"/bin/sh", "-c", "test \"$MT_X\" = secret || exit 9"}, Log("env"),
                      {"MT_X=secret"})
                  .ok());
  ASSERT_TRUE(w.WaitAll(std::chrono::seconds(60)));
  EXPECT_EQ(w.FirstFailure(), std::nullopt);
}

}  // namespace
}  // namespace mt::server
