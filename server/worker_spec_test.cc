#include "server/worker_spec.h"

#include <gtest/gtest.h>

namespace mt::server {
namespace {

ResolvedSpec Resolved(int64_t train_size, int threads) {
  ResolvedSpec r;
  r.spec.set_train_size(train_size);
  r.spec.set_threads(threads);
  r.config.threads = threads;
  return r;
}

TEST(ResolveWorkers, ZeroIsOneAndChangesNothingElse) {
  v1::JobSpec in;
  ResolvedSpec r = Resolved(0, 2);
  ASSERT_TRUE(ResolveWorkers(in, 2, 2, &r).ok());
  EXPECT_EQ(r.spec.workers(), 1);
  EXPECT_EQ(r.spec.threads(), 2);
}

TEST(ResolveWorkers, DefaultThreadsAreSharedBetweenWorkers) {
  v1::JobSpec in;
  in.set_workers(2);
  ResolvedSpec r = Resolved(200, 4);  // ResolveSpec made threads 0 into every core (4)
  ASSERT_TRUE(ResolveWorkers(in, 4, 4, &r).ok());
  EXPECT_EQ(r.spec.workers(), 2);
  EXPECT_EQ(r.spec.threads(), 2);
  EXPECT_EQ(r.config.threads, 2);

  in.set_threads(3);  // asked for: kept
  ResolvedSpec kept = Resolved(200, 3);
  ASSERT_TRUE(ResolveWorkers(in, 4, 4, &kept).ok());
  EXPECT_EQ(kept.spec.threads(), 3);

  in.set_threads(0);
  in.set_workers(4);
  ResolvedSpec one = Resolved(200, 2);
  ASSERT_TRUE(ResolveWorkers(in, 4, 2, &one).ok());
  EXPECT_EQ(one.spec.threads(), 1);  // never 0
}

void ExpectInvalid(const absl::Status& s, const std::string& needle) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(needle), std::string::npos) << s;
}

TEST(ResolveWorkers, OutOfBoundsAndUnevenSplitsAreNamed) {
  v1::JobSpec in;
  in.set_workers(3);
  ResolvedSpec r = Resolved(200, 1);
  ExpectInvalid(ResolveWorkers(in, 2, 2, &r),
                "invalid workers '3': must be between 1 and 2 (this daemon runs at most 2");
  in.set_workers(-1);
  ExpectInvalid(ResolveWorkers(in, 2, 2, &r), "invalid workers '-1'");
  in.set_workers(3);
  ResolvedSpec uneven = Resolved(200, 1);
  ExpectInvalid(ResolveWorkers(in, 4, 4, &uneven),
                "invalid train_size '200': must be a multiple of workers (3)");
}

}  // namespace
}  // namespace mt::server
