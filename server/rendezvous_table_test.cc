// The coordinator's rendezvous store: scopes with secrets, waits that end when keys arrive or
// at the timeout (naming the missing keys), limits, and closing a scope under a waiter.
#include "server/rendezvous_table.h"

#include <gtest/gtest.h>

#include <thread>

namespace mt::server {
namespace {

using std::chrono::milliseconds;

TEST(RendezvousTable, SetThenGetWithTheSecret) {
  RendezvousTable t;
  absl::StatusOr<std::string> secret = t.Open("job-1/run-1");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->size(), 32u);
  ASSERT_TRUE(t.Set("job-1/run-1", *secret, "rank/0", {'a', 'b'}).ok());
  auto v = t.Get("job-1/run-1", *secret, {"rank/0"}, milliseconds(0));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)[0], (std::vector<char>{'a', 'b'}));
  EXPECT_NE(*t.Open("job-1/run-2"), *secret);
  EXPECT_EQ(t.Open("job-1/run-1").status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(RendezvousTable, WrongSecretOrUnknownScopeIsRefused) {
  RendezvousTable t;
  ASSERT_TRUE(t.Open("s").ok());
  EXPECT_EQ(t.Set("s", "guess", "k", {}).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(t.Get("s", "", {"k"}, milliseconds(0)).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(t.Set("other", "x", "k", {}).code(), absl::StatusCode::kNotFound);
}

TEST(RendezvousTable, GetWaitsForAnotherThreadsSet) {
  RendezvousTable t;
  const std::string secret = *t.Open("s");
  std::thread setter([&] {
    std::this_thread::sleep_for(milliseconds(100));
    ASSERT_TRUE(t.Set("s", secret, "b", {'2'}).ok());
    ASSERT_TRUE(t.Set("s", secret, "a", {'1'}).ok());
  });
  auto v = t.Get("s", secret, {"a", "b"}, std::chrono::seconds(60));
  setter.join();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)[0], std::vector<char>{'1'});
  EXPECT_EQ((*v)[1], std::vector<char>{'2'});
}

TEST(RendezvousTable, TimeoutNamesTheMissingKeys) {
  RendezvousTable t;
  const std::string secret = *t.Open("s");
  ASSERT_TRUE(t.Set("s", secret, "here", {}).ok());
  auto v = t.Get("s", secret, {"here", "rank/1"}, milliseconds(50));
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(v.status().message().find("[rank/1] not set within 50 ms"), std::string::npos)
      << v.status();
}

TEST(RendezvousTable, ClosingWakesWaitersAndForgetsKeys) {
  RendezvousTable t;
  const std::string secret = *t.Open("s");
  std::thread closer([&] {
    std::this_thread::sleep_for(milliseconds(100));
    t.Close("s");
  });
  auto v = t.Get("s", secret, {"never"}, std::chrono::seconds(60));
  closer.join();
  EXPECT_EQ(v.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(t.Set("s", secret, "k", {}).code(), absl::StatusCode::kNotFound);
  t.Close("s");  // idempotent
}

TEST(RendezvousTable, Limits) {
  RendezvousLimits limits;
  limits.max_keys_per_scope = 2;
  limits.max_value_bytes = 4;
  limits.max_scopes = 1;
  RendezvousTable t(limits);
  const std::string secret = *t.Open("s");
  EXPECT_EQ(t.Open("s2").status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(t.Set("s", secret, "", {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.Set("s", secret, std::string(600, 'k'), {}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.Set("s", secret, "k", std::vector<char>(5)).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(t.Set("s", secret, "a", {}).ok());
  ASSERT_TRUE(t.Set("s", secret, "b", {}).ok());
  ASSERT_TRUE(t.Set("s", secret, "a", {'x'}).ok());  // replacing is not adding
  EXPECT_EQ(t.Set("s", secret, "c", {}).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(t.Get("s", secret, {}, milliseconds(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Get bounds its keys as Set does (a timeout's message quotes them).
  absl::Status long_key = t.Get("s", secret, {"a", std::string(600, 'k')}, milliseconds(0)).status();
  EXPECT_EQ(long_key.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(long_key.message().size(), 200u) << long_key;
  EXPECT_EQ(t.Get("s", secret, {"a", ""}, milliseconds(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RendezvousTable, TimeoutSaysMoreOnlyWhenMoreThanFiveAreMissing) {
  RendezvousTable t;
  const std::string secret = *t.Open("s");
  ASSERT_TRUE(t.Set("s", secret, "here", {}).ok());
  auto v = t.Get("s", secret, {"here", "k1", "k2", "k3", "k4", "k5"}, milliseconds(20));
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(v.status().message().find("[k1, k2, k3, k4, k5] not set"), std::string::npos)
      << v.status();
  auto w = t.Get("s", secret, {"k1", "k2", "k3", "k4", "k5", "k6"}, milliseconds(20));
  EXPECT_NE(w.status().message().find("[k1, k2, k3, k4, k5, ...] not set"), std::string::npos)
      << w.status();
}

TEST(RendezvousTable, AsAnEngineStore) {
  RendezvousTable t;
  const std::string secret = *t.Open("s");
  TableRendezvousStore store(&t, "s", secret);
  ASSERT_TRUE(store.Set("k", {'v'}).ok());
  EXPECT_EQ(*store.Get("k", milliseconds(10)), std::vector<char>{'v'});
  EXPECT_TRUE(store.Wait({"k"}, milliseconds(10)).ok());
  EXPECT_EQ(store.Wait({"x"}, milliseconds(10)).code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace mt::server
