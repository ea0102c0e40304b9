#include "server/serial_executor.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace mt::server {
namespace {

TEST(SerialExecutor, RunsTasksInOrderOnAnotherThread) {
  std::vector<int> ran;
  std::thread::id where;
  {
    SerialExecutor ex;
    for (int i = 0; i < 100; ++i) {
      ex.Post([&, i] {
        ran.push_back(i);  // one task at a time: no lock needed
        where = std::this_thread::get_id();
      });
    }
    ex.Drain();
    ASSERT_EQ(ran.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(ran[i], i);
    EXPECT_NE(where, std::this_thread::get_id());
  }
}

TEST(SerialExecutor, PostDoesNotWaitForTheTask) {
  SerialExecutor ex;
  std::atomic<bool> release{false}, ran{false};
  ex.Post([&] {
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ran = true;
  });
  // Post returned while the task is still blocked.
  EXPECT_FALSE(ran.load());
  release = true;
  ex.Drain();
  EXPECT_TRUE(ran.load());
}

TEST(SerialExecutor, DrainWaitsForEveryEarlierTask) {
  SerialExecutor ex;
  std::atomic<int> count{0};
  for (int i = 0; i < 10; ++i) {
    ex.Post([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ++count;
    });
  }
  ex.Drain();
  EXPECT_EQ(count.load(), 10);
}

TEST(SerialExecutor, DestructorRunsWhatIsQueued) {
  std::atomic<int> count{0};
  {
    SerialExecutor ex;
    for (int i = 0; i < 20; ++i) {
      ex.Post([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ++count;
      });
    }
  }
  EXPECT_EQ(count.load(), 20);
}

// A full queue makes Post run the task itself, after the queued ones: order holds and the
// queue never exceeds its bound.
TEST(SerialExecutor, FullQueueRunsInlineInOrder) {
  std::mutex mu;
  std::vector<int> ran;
  std::vector<bool> inline_run;
  const std::thread::id caller = std::this_thread::get_id();
  SerialExecutor ex(/*max_queued=*/2);
  std::atomic<bool> release{false};
  ex.Post([&] {
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> lock(mu);
    ran.push_back(0);
    inline_run.push_back(std::this_thread::get_id() == caller);
  });
  // Task 0 may still sit in the queue or already run (blocked); either way, tasks 1..6 fill
  // the queue of two and the rest run inline once the earlier ones are done.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    release = true;
  });
  for (int i = 1; i <= 6; ++i) {
    ex.Post([&, i] {
      std::lock_guard<std::mutex> lock(mu);
      ran.push_back(i);
      inline_run.push_back(std::this_thread::get_id() == caller);
    });
  }
  ex.Drain();
  releaser.join();
  ASSERT_EQ(ran.size(), 7u);
  for (int i = 0; i <= 6; ++i) EXPECT_EQ(ran[i], i);
  int inlined = 0;
  for (bool b : inline_run) inlined += b;
  EXPECT_GE(inlined, 1) << "with room for two, some of seven tasks must have run inline";
}

TEST(SerialExecutor, PostsFromManyThreadsAllRun) {
  std::atomic<int> count{0};
  {
    SerialExecutor ex(/*max_queued=*/8);
    std::vector<std::thread> posters;
    for (int t = 0; t < 4; ++t) {
      posters.emplace_back([&] {
        for (int i = 0; i < 200; ++i) ex.Post([&] { ++count; });
      });
    }
    for (std::thread& p : posters) p.join();
    ex.Drain();
    EXPECT_EQ(count.load(), 800);
  }
}

TEST(SerialExecutor, RunsItsThreadAtTheLowerPriorityAskedFor) {
  errno = 0;
  const int mine = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  ASSERT_EQ(errno, 0);
  SerialExecutor ex(/*max_queued=*/16, /*nice_increment=*/5);
  int theirs = 100;
  ex.Post([&] { theirs = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); });
  ex.Drain();
  EXPECT_EQ(theirs, std::min(19, mine + 5));
  // The caller's own priority is untouched.
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))), mine);
}

}  // namespace
}  // namespace mt::server
