// The load sampler: /proc/stat parsing on fixed text, the thread rule with its hysteresis, and
// on the live machine that a busy child process is seen and costs a thread.
#include "engine/cpu_load.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace mt {
namespace {

constexpr char kStat[] =
    "cpu  100 5 30 900 7 2 3 11 0 0\n"
    "cpu0 60 5 10 400 3 1 1 5 0 0\n"
    "cpu1 40 0 20 500 4 1 2 6 0 0\n"
    "intr 12345 0 0\n"
    "ctxt 999\n";

TEST(CpuLoad, BusyTicksCountUserNiceSystemIrqSoftirq) {
  // Aggregate: 100 + 5 + 30 + 2 + 3 (idle 900, iowait 7 and steal 11 left out).
  EXPECT_EQ(BusyTicks(kStat, {}), 140);
  EXPECT_EQ(BusyTicks(kStat, {0}), 60 + 5 + 10 + 1 + 1);
  EXPECT_EQ(BusyTicks(kStat, {1}), 40 + 0 + 20 + 1 + 2);
  EXPECT_EQ(BusyTicks(kStat, {0, 1}), 77 + 63);
  EXPECT_EQ(BusyTicks(kStat, {5}), std::nullopt);  // no such CPU
  EXPECT_EQ(BusyTicks("intr 1 2 3\n", {}), std::nullopt);
  EXPECT_EQ(BusyTicks("cpu  1 2 x 4 5 6 7\n", {}), std::nullopt);
  EXPECT_EQ(BusyTicks("cpu  1 2 3\n", {}), std::nullopt);  // too few fields
}

TEST(CpuLoad, ThreadsForLoadGivesBackBusyCoresWithHysteresis) {
  EXPECT_EQ(ThreadsForLoad(1, 3.0, 1), 1);
  EXPECT_EQ(ThreadsForLoad(2, 0.0, 2), 2);
  EXPECT_EQ(ThreadsForLoad(2, 0.5, 2), 2);   // below 0.6: not taken yet
  EXPECT_EQ(ThreadsForLoad(2, 0.7, 2), 1);
  EXPECT_EQ(ThreadsForLoad(2, 0.5, 1), 1);   // once reduced, free again only below 0.4
  EXPECT_EQ(ThreadsForLoad(2, 0.3, 1), 2);
  EXPECT_EQ(ThreadsForLoad(2, 1.0, 1), 1);
  EXPECT_EQ(ThreadsForLoad(2, 5.0, 2), 1);   // never below one
  EXPECT_EQ(ThreadsForLoad(16, 3.7, 16), 12);
  EXPECT_EQ(ThreadsForLoad(16, 3.5, 16), 13);
  EXPECT_EQ(ThreadsForLoad(16, 3.5, 13), 12);
}

TEST(CpuLoad, SeesABusyChildProcess) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs two CPUs";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    volatile unsigned long spin = 0;
    for (;;) spin = spin + 1;  // killed below
  }
  CpuLoadMonitor& monitor = CpuLoadMonitor::Get();
  int advised = 2;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  // Samples are 0.2 s apart; the child needs one whole sample to be seen.
  while (std::chrono::steady_clock::now() < until) {
    advised = monitor.Advise(2);
    if (monitor.LastOthers() >= 0.6 && advised == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_GE(monitor.LastOthers(), 0.6);
  EXPECT_EQ(advised, 1);
}

}  // namespace
}  // namespace mt
