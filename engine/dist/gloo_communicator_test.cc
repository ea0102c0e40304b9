// Gloo ranks as threads of one process, rendezvousing through a file store in the test's
// temporary directory: exact collective results, a LeNet-5-sized all-reduce, and failures that
// end in an error Status within the timeout instead of a hang.
#include "engine/dist/gloo_communicator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "engine/dist/file_store.h"
#include "gtest/gtest.h"

namespace mt::dist {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// LeNet-5's parameter count (and so its flat gradient buffer's length).
constexpr size_t kLeNet5Parameters = 61706;

// A fresh store directory for each world, so keys of one test never meet another's.
std::string FreshStoreDir() {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  std::replace(name.begin(), name.end(), '/', '_');
  // The process id keeps runs outside Bazel (no TEST_TMPDIR) from meeting an earlier run's keys.
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/gloo_" + name + "_" +
         std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

GlooOptions Options(milliseconds timeout) {
  GlooOptions options;
  options.timeout = timeout;
  return options;
}

// Runs body(rank, communicator) on `size` threads, one per rank, after connecting them. Each
// rank opens its own store object on the shared directory, as separate processes would.
void RunWorld(int size, const std::function<void(int, GlooCommunicator&)>& body,
              milliseconds timeout = std::chrono::seconds(20)) {
  const std::string dir = FreshStoreDir();
  std::vector<std::thread> threads;
  for (int rank = 0; rank < size; ++rank) {
    threads.emplace_back([&, rank] {
      FileRendezvousStore store(dir);
      absl::StatusOr<std::unique_ptr<GlooCommunicator>> comm =
          GlooCommunicator::Create(rank, size, store, Options(timeout));
      ASSERT_TRUE(comm.ok()) << comm.status();
      EXPECT_EQ((*comm)->rank(), rank);
      EXPECT_EQ((*comm)->size(), size);
      body(rank, **comm);
    });
  }
  for (std::thread& t : threads) t.join();
}

class GlooWorldTest : public ::testing::TestWithParam<int> {};

TEST_P(GlooWorldTest, AllReduceSumIsExactOnSmallBuffers) {
  const int size = GetParam();
  RunWorld(size, [size](int rank, GlooCommunicator& comm) {
    std::vector<float> f(5);
    std::vector<double> d(3);
    for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>((rank + 1) * (i + 1));
    for (size_t i = 0; i < d.size(); ++i) d[i] = (rank + 1) * 0.25 - static_cast<double>(i);
    ASSERT_TRUE(comm.AllReduceSum(f.data(), f.size()).ok());
    ASSERT_TRUE(comm.AllReduceSum(d.data(), d.size()).ok());
    const int triangle = size * (size + 1) / 2;  // 1 + 2 + ... + size
    for (size_t i = 0; i < f.size(); ++i) {
      EXPECT_EQ(f[i], static_cast<float>(triangle * (i + 1))) << "rank " << rank << " i " << i;
    }
    for (size_t i = 0; i < d.size(); ++i) {
      EXPECT_EQ(d[i], triangle * 0.25 - static_cast<double>(size * i)) << "rank " << rank;
    }
  });
}

TEST_P(GlooWorldTest, AllReduceAverageIsExactOnSmallBuffers) {
  const int size = GetParam();
  RunWorld(size, [size](int rank, GlooCommunicator& comm) {
    // Rank r holds i + r; the mean over ranks is i + (size - 1) / 2, exact in binary.
    std::vector<float> f(4);
    std::vector<double> d(4);
    for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(i + rank);
    for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<double>(i + rank);
    ASSERT_TRUE(comm.AllReduceAverage(f.data(), f.size()).ok());
    ASSERT_TRUE(comm.AllReduceAverage(d.data(), d.size()).ok());
    for (size_t i = 0; i < f.size(); ++i) {
      EXPECT_EQ(f[i], static_cast<float>(i) + (size - 1) / 2.0f) << "rank " << rank;
      EXPECT_EQ(d[i], static_cast<double>(i) + (size - 1) / 2.0) << "rank " << rank;
    }
  });
}

TEST_P(GlooWorldTest, AllReducesLeNet5SizedGradient) {
  const int size = GetParam();
  RunWorld(size, [size](int rank, GlooCommunicator& comm) {
    // Values on a 0.5 grid below 600: every partial sum is exact in float, whatever order the
    // ring adds the ranks' segments in, so the expected results are exact.
    std::vector<float> sum(kLeNet5Parameters), avg(kLeNet5Parameters);
    for (size_t i = 0; i < kLeNet5Parameters; ++i) {
      sum[i] = avg[i] = static_cast<float>(i % 1000) * 0.5f + static_cast<float>(rank);
    }
    ASSERT_TRUE(comm.AllReduceSum(sum.data(), sum.size()).ok());
    ASSERT_TRUE(comm.AllReduceAverage(avg.data(), avg.size()).ok());
    const float rank_total = static_cast<float>(size * (size - 1) / 2);
    size_t wrong_sum = 0, wrong_avg = 0;
    for (size_t i = 0; i < kLeNet5Parameters; ++i) {
      const float base = static_cast<float>(i % 1000) * 0.5f;
      if (sum[i] != base * size + rank_total) ++wrong_sum;
      if (avg[i] != base + rank_total / size) ++wrong_avg;
    }
    EXPECT_EQ(wrong_sum, 0u) << "rank " << rank << ": first " << sum[0] << ", last " << sum.back();
    EXPECT_EQ(wrong_avg, 0u) << "rank " << rank << ": first " << avg[0] << ", last " << avg.back();
  });
}

TEST_P(GlooWorldTest, BroadcastCopiesTheRootsBufferToEveryRank) {
  const int size = GetParam();
  RunWorld(size, [size](int rank, GlooCommunicator& comm) {
    for (int root = 0; root < size; ++root) {
      std::vector<float> f(kLeNet5Parameters, -1.0f);
      if (rank == root) {
        for (size_t i = 0; i < f.size(); ++i) f[i] = 0.001f * static_cast<float>(i) + root;
      }
      ASSERT_TRUE(comm.Broadcast(f.data(), f.size(), root).ok());
      size_t wrong = 0;
      for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] != 0.001f * static_cast<float>(i) + root) ++wrong;
      }
      EXPECT_EQ(wrong, 0u) << "rank " << rank << " root " << root;
      // Raw bytes: a double and a counter, from the last rank.
      struct {
        double value;
        int64_t steps;
      } state = {rank == size - 1 ? 2.5 : 0.0, rank == size - 1 ? 42 : 0};
      ASSERT_TRUE(comm.Broadcast(&state, sizeof(state), size - 1).ok());
      EXPECT_EQ(state.value, 2.5);
      EXPECT_EQ(state.steps, 42);
    }
  });
}

TEST_P(GlooWorldTest, BarrierWaitsForTheSlowestRank) {
  const int size = GetParam();
  std::atomic<int> arrived{0};
  RunWorld(size, [&](int rank, GlooCommunicator& comm) {
    // The last rank arrives late; nobody may leave the barrier before it arrived.
    if (rank == size - 1) std::this_thread::sleep_for(milliseconds(300));
    arrived.fetch_add(1);
    ASSERT_TRUE(comm.Barrier().ok());
    EXPECT_EQ(arrived.load(), size) << "rank " << rank << " left the barrier early";
  });
}

TEST_P(GlooWorldTest, RankThatLeavesMakesOthersFailWithinTheTimeout) {
  const int size = GetParam();
  const milliseconds timeout(5000);
  std::atomic<int> done{0};
  RunWorld(
      size,
      [&](int rank, GlooCommunicator& comm) {
        std::vector<float> grad(kLeNet5Parameters, 1.0f);
        ASSERT_TRUE(comm.AllReduceSum(grad.data(), grad.size()).ok());
        ASSERT_EQ(grad[0], static_cast<float>(size));
        const int leaver = size - 1;
        if (rank == leaver) {
          // Stop taking part, but stay alive until the others have seen the failure, so what
          // they see is a closed connection, not this thread's exit.
          comm.Close();
          while (done.load() < size - 1) std::this_thread::sleep_for(milliseconds(10));
          return;
        }
        const auto start = Clock::now();
        absl::Status status = comm.AllReduceSum(grad.data(), grad.size());
        const auto elapsed = Clock::now() - start;
        done.fetch_add(1);
        EXPECT_FALSE(status.ok()) << "rank " << rank;
        EXPECT_TRUE(status.code() == absl::StatusCode::kUnavailable ||
                    status.code() == absl::StatusCode::kDeadlineExceeded)
            << status;
        EXPECT_NE(status.message().find("rank " + std::to_string(rank) + " of " +
                                        std::to_string(size)),
                  std::string::npos)
            << status;
        // The timeout plus slack for a loaded machine; a hang would never get here.
        EXPECT_LT(elapsed, timeout + milliseconds(10000)) << status;
        std::cout << "rank " << rank << " saw: " << status << "\n";
        // Broken from now on, with the reason.
        absl::Status later = comm.Barrier();
        EXPECT_EQ(later.code(), absl::StatusCode::kFailedPrecondition) << later;
      },
      timeout);
}

INSTANTIATE_TEST_SUITE_P(TwoAndThreeRanks, GlooWorldTest, ::testing::Values(2, 3),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "Ranks";
                         });

TEST(GlooCommunicatorTest, MissingPeerFailsRendezvousWithinTheTimeout) {
  FileRendezvousStore store(FreshStoreDir());
  const auto start = Clock::now();
  absl::StatusOr<std::unique_ptr<GlooCommunicator>> comm =
      GlooCommunicator::Create(0, 2, store, Options(milliseconds(500)));
  const auto elapsed = Clock::now() - start;
  ASSERT_FALSE(comm.ok());
  EXPECT_EQ(comm.status().code(), absl::StatusCode::kUnavailable) << comm.status();
  EXPECT_NE(comm.status().message().find("rank 0 of 2"), std::string::npos) << comm.status();
  EXPECT_LT(elapsed, milliseconds(15000));
}

TEST(GlooCommunicatorTest, RejectsBadRankAndSize) {
  FileRendezvousStore store(FreshStoreDir());
  EXPECT_EQ(GlooCommunicator::Create(2, 2, store, GlooOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GlooCommunicator::Create(0, 0, store, GlooOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GlooCommunicator::Create(0, 1, store, Options(milliseconds(0))).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GlooCommunicatorTest, WorldOfOneNeedsNoPeers) {
  RunWorld(1, [](int, GlooCommunicator& comm) {
    std::vector<float> f = {1.0f, 2.0f};
    ASSERT_TRUE(comm.AllReduceAverage(f.data(), f.size()).ok());
    ASSERT_TRUE(comm.Broadcast(f.data(), f.size(), 0).ok());
    ASSERT_TRUE(comm.Barrier().ok());
    EXPECT_EQ(f, (std::vector<float>{1.0f, 2.0f}));
  });
}

// Measures the all-reduce of LeNet-5's gradient between two thread-ranks and prints the median;
// it asserts the result, not the time (the machine is shared).
TEST(GlooCommunicatorTest, TimesLeNet5AllReduceBetweenTwoRanks) {
  constexpr int kWarmup = 20, kRuns = 300;
  std::vector<double> micros;
  RunWorld(2, [&](int rank, GlooCommunicator& comm) {
    std::vector<float> grad(kLeNet5Parameters);
    std::vector<double> local;
    for (int run = 0; run < kWarmup + kRuns; ++run) {
      std::fill(grad.begin(), grad.end(), 0.5f);
      const auto start = Clock::now();
      ASSERT_TRUE(comm.AllReduceAverage(grad.data(), grad.size()).ok());
      const auto end = Clock::now();
      ASSERT_EQ(grad[kLeNet5Parameters - 1], 0.5f);
      if (run >= kWarmup) {
        local.push_back(std::chrono::duration<double, std::micro>(end - start).count());
      }
    }
    if (rank == 0) micros = local;
  });
  ASSERT_EQ(micros.size(), static_cast<size_t>(kRuns));
  std::sort(micros.begin(), micros.end());
  const double median = micros[kRuns / 2];
  std::cout << "all-reduce-average of " << kLeNet5Parameters << " floats, 2 thread-ranks: median "
            << median / 1000.0 << " ms, p10 " << micros[kRuns / 10] / 1000.0 << " ms, p90 "
            << micros[kRuns * 9 / 10] / 1000.0 << " ms over " << kRuns << " runs\n";
  ::testing::Test::RecordProperty("allreduce_median_us", static_cast<int>(median));
}

}  // namespace
}  // namespace mt::dist
