// Per-thread kernel thread counts: two std::threads in one process run ops concurrently with
// different counts, and each one's kernels see its own count (OpenMP's team size inside the
// kernel's parallel region), with correct results.
#include "engine/threads.h"

#include <omp.h>

#include <atomic>
#include <thread>
#include <vector>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "gtest/gtest.h"

namespace mt {
namespace {

// The CPU's real Unary kernel, wrapped so that each call also reports the team size a parallel
// region gets with the context it was given, to the calling thread.
dispatch::UnaryKernel::Fn real_unary = nullptr;
thread_local int observed_context_threads = -1;
thread_local int observed_team_size = -1;

void ObservingUnary(const kernels::Context& ctx, DType dtype, kernels::UnaryOp op, int ndim,
                    const int64_t* shape, const void* in, const int64_t* in_strides, void* out) {
  observed_context_threads = ctx.threads;
  int team = 0;
#pragma omp parallel num_threads(ctx.threads)
  {
#pragma omp single
    team = omp_get_num_threads();
  }
  observed_team_size = team;
  real_unary(ctx, dtype, op, ndim, shape, in, in_strides, out);
}

TEST(Threads, SettingIsPerThreadAndScoped) {
  SetThreadCount(0);
  EXPECT_EQ(ThreadCountSetting(), 0);
  EXPECT_EQ(ThreadCount(), omp_get_max_threads());
  {
    ScopedThreads guard(3);
    EXPECT_EQ(ThreadCount(), 3);
    EXPECT_EQ(dispatch::ContextFor(Device::CPU()).threads, 3);
    std::thread other([] { EXPECT_EQ(ThreadCountSetting(), 0); });  // not inherited
    other.join();
  }
  EXPECT_EQ(ThreadCountSetting(), 0);
  EXPECT_THROW(SetThreadCount(-1), Error);
}

TEST(Threads, ConcurrentJobsUseTheirOwnCounts) {
  real_unary = dispatch::Find<dispatch::UnaryKernel>(Device::Type::kCPU);
  ASSERT_NE(real_unary, nullptr);
  dispatch::Register<dispatch::UnaryKernel>(Device::Type::kCPU, &ObservingUnary);

  std::atomic<int> failures{0};
  auto job = [&](int threads) {
    ScopedThreads guard(threads);
    // Large enough that the kernel goes parallel (several 16K-element chunks).
    const int64_t n = 1 << 18;
    std::vector<double> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>(i % 7) - 3.0;
    Tensor x = Tensor::FromVector(v, {n}, DType::kFloat64);
    for (int rep = 0; rep < 20; ++rep) {
      Tensor y = Relu(x);
      if (observed_context_threads != threads || observed_team_size != threads) ++failures;
      const double* p = y.data<double>();
      for (int64_t i = 0; i < n; i += 997) {
        if (p[i] != (v[i] > 0 ? v[i] : 0.0)) ++failures;
      }
      // Another op with a parallel kernel runs with the same per-thread count.
      if (Sum(y).item() != (0 + 0 + 0 + 0 + 1 + 2 + 3) * (n / 7) +
                               [&] {
                                 double tail = 0;
                                 for (int64_t i = n / 7 * 7; i < n; ++i) {
                                   tail += v[i] > 0 ? v[i] : 0;
                                 }
                                 return tail;
                               }()) {
        ++failures;
      }
    }
    EXPECT_EQ(observed_context_threads, threads);
    EXPECT_EQ(observed_team_size, threads);
  };
  std::thread one(job, 1), two(job, 2);
  one.join();
  two.join();
  dispatch::Register<dispatch::UnaryKernel>(Device::Type::kCPU, real_unary);
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace mt
