#include "server/scheduler.h"

#include "gtest/gtest.h"

namespace mt::server {
namespace {

v1::Device Dev(const std::string& name, int max_running) {
  v1::Device d;
  d.set_name(name);
  d.set_kind("cpu");
  d.set_max_running(max_running);
  return d;
}

TEST(Scheduler, StartsInArrivalOrderUpToMaxRunning) {
  Scheduler s({Dev("cpu", 2)});
  s.Enqueue("cpu", "a");
  s.Enqueue("cpu", "b");
  s.Enqueue("cpu", "c");
  ASSERT_EQ(s.NextToStart("cpu"), "a");
  s.Started("cpu");
  ASSERT_EQ(s.NextToStart("cpu"), "b");
  s.Started("cpu");
  EXPECT_EQ(s.NextToStart("cpu"), std::nullopt);  // both slots busy; c waits
  s.Finished("cpu");
  EXPECT_EQ(s.NextToStart("cpu"), "c");
  s.Started("cpu");
  EXPECT_EQ(s.NextToStart("cpu"), std::nullopt);  // queue empty
  v1::Device d = s.Describe("cpu");
  EXPECT_EQ(d.running(), 2);
  EXPECT_EQ(d.queued(), 0);
  EXPECT_EQ(d.max_running(), 2);
}

TEST(Scheduler, WaitingReasonsGiveBusySlotsAndPlaceInQueue) {
  Scheduler s({Dev("cpu", 1)});
  for (const char* id : {"a", "b", "c", "d"}) s.Enqueue("cpu", id);
  s.Started("cpu");  // a runs
  EXPECT_EQ(s.WaitingReason("cpu", "b"), "waiting for cpu: 1 of 1 slots busy; 1st in queue");
  EXPECT_EQ(s.WaitingReason("cpu", "c"), "waiting for cpu: 1 of 1 slots busy; 2nd in queue");
  EXPECT_EQ(s.WaitingReason("cpu", "d"), "waiting for cpu: 1 of 1 slots busy; 3rd in queue");
  EXPECT_TRUE(s.Remove("cpu", "b"));
  EXPECT_FALSE(s.Remove("cpu", "b"));
  EXPECT_EQ(s.WaitingReason("cpu", "d"), "waiting for cpu: 1 of 1 slots busy; 2nd in queue");
  s.Finished("cpu");
  EXPECT_EQ(s.WaitingReason("cpu", "c"), "waiting for cpu: 0 of 1 slots busy; 1st in queue");
  EXPECT_EQ(s.Describe("cpu").queued(), 2);
}

TEST(Scheduler, QueuesArePerDevice) {
  Scheduler s({Dev("cpu", 1), Dev("cuda:0", 1)});
  EXPECT_TRUE(s.HasDevice("cuda:0"));
  EXPECT_FALSE(s.HasDevice("cuda:1"));
  EXPECT_EQ(s.device_names(), (std::vector<std::string>{"cpu", "cuda:0"}));
  s.Enqueue("cpu", "a");
  s.Enqueue("cuda:0", "b");
  s.Started("cpu");
  EXPECT_EQ(s.NextToStart("cuda:0"), "b");  // a busy CPU does not hold up the GPU
  EXPECT_FALSE(s.Remove("cpu", "b"));
}

TEST(Scheduler, Ordinals) {
  EXPECT_EQ(Ordinal(1), "1st");
  EXPECT_EQ(Ordinal(2), "2nd");
  EXPECT_EQ(Ordinal(3), "3rd");
  EXPECT_EQ(Ordinal(4), "4th");
  EXPECT_EQ(Ordinal(11), "11th");
  EXPECT_EQ(Ordinal(12), "12th");
  EXPECT_EQ(Ordinal(13), "13th");
  EXPECT_EQ(Ordinal(21), "21st");
  EXPECT_EQ(Ordinal(112), "112th");
}

}  // namespace
}  // namespace mt::server
