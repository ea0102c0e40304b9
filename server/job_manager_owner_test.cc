// The job manager's side of ownership, without a network: SubmitAs records the owner (and it
// survives a restart), ListVisibleTo shows a user their jobs and an admin all, and the queued
// jobs of one user are limited on submit and on resume.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/job_manager.h"
#include "server/job_manager_test_util.h"

namespace mt::server {
namespace {

using namespace jm_testing;  // NOLINT: the shared test helpers

std::vector<std::string> Ids(const std::vector<v1::Job>& jobs) {
  std::vector<std::string> ids;
  for (const v1::Job& j : jobs) ids.push_back(j.id());
  return ids;
}

TEST(JobManagerOwnerTest, OwnersListsAndRestart) {
  const std::string state = FreshDir("owner-state");
  Options o = MakeOptions(state, 1);
  std::string a_id, b_id, local_id;
  {
    std::unique_ptr<JobManager> m = MustCreate(o);
    absl::StatusOr<v1::Job> a = m->SubmitAs(SmallSpec(1), Caller{"alice", false});
    absl::StatusOr<v1::Job> b = m->SubmitAs(SmallSpec(1), Caller{"bob", false});
    absl::StatusOr<v1::Job> local = m->Submit(SmallSpec(1));
    ASSERT_TRUE(a.ok() && b.ok() && local.ok());
    a_id = a->id();
    b_id = b->id();
    local_id = local->id();
    EXPECT_EQ(a->owner(), "alice");
    EXPECT_EQ(b->owner(), "bob");
    EXPECT_EQ(local->owner(), "");
    EXPECT_EQ(Ids(m->ListVisibleTo(v1::JOB_STATE_UNSPECIFIED, Caller{"alice", false})),
              std::vector<std::string>{a_id});
    EXPECT_EQ(Ids(m->ListVisibleTo(v1::JOB_STATE_UNSPECIFIED, Caller{"carol", false})),
              std::vector<std::string>{});
    EXPECT_EQ(Ids(m->ListVisibleTo(v1::JOB_STATE_UNSPECIFIED, Caller{"root", true})),
              (std::vector<std::string>{local_id, b_id, a_id}));
    EXPECT_EQ(Ids(m->List(v1::JOB_STATE_UNSPECIFIED)),
              (std::vector<std::string>{local_id, b_id, a_id}));
    for (const std::string& id : {a_id, b_id, local_id}) WaitTerminal(*m, id);
  }
  // The owner is stored with the job.
  std::unique_ptr<JobManager> m = MustCreate(o);
  EXPECT_EQ(m->Get(a_id)->owner(), "alice");
  EXPECT_EQ(m->Get(b_id)->owner(), "bob");
  EXPECT_EQ(Ids(m->ListVisibleTo(v1::SUCCEEDED, Caller{"bob", false})),
            std::vector<std::string>{b_id});
  EXPECT_EQ(Ids(m->ListVisibleTo(v1::SUCCEEDED, Caller{"", false})),
            std::vector<std::string>{local_id});
}

TEST(JobManagerOwnerTest, QueuedJobsPerUserAreLimitedOnSubmitAndResume) {
  Options o = MakeOptions(FreshDir("limit-state"), 1);
  o.max_queued_per_user = 1;
  std::unique_ptr<JobManager> m = MustCreate(o);
  const Caller alice{"alice", false};
  absl::StatusOr<v1::Job> running = m->SubmitAs(SmallSpec(500), alice);
  ASSERT_TRUE(running.ok());
  WaitFor(*m, running->id(), [](const v1::Job& j) { return j.state() == v1::RUNNING; },
          "running");
  absl::StatusOr<v1::Job> queued = m->SubmitAs(SmallSpec(1), alice);
  ASSERT_TRUE(queued.ok()) << queued.status();
  absl::StatusOr<v1::Job> refused = m->SubmitAs(SmallSpec(1), alice);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "user alice already has 1 queued jobs, the most allowed (--max_queued_per_user=1); "
            "wait for some to start or cancel some, then submit again");
  // Other users and the anonymous local user have their own allowance.
  absl::StatusOr<v1::Job> anonymous = m->Submit(SmallSpec(1));
  ASSERT_TRUE(anonymous.ok());
  absl::StatusOr<v1::Job> more = m->Submit(SmallSpec(1));
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().message(),
            "you already have 1 queued jobs, the most allowed (--max_queued_per_user=1); wait "
            "for some to start or cancel some, then submit again");
  // Cancelling frees the place; resuming the cancelled job takes it again, so a second resume
  // of another cancelled job is refused.
  ASSERT_TRUE(m->Cancel(queued->id()).ok());
  absl::StatusOr<v1::Job> next = m->SubmitAs(SmallSpec(1), alice);
  ASSERT_TRUE(next.ok()) << next.status();
  absl::StatusOr<v1::Job> resumed = m->Resume(queued->id());
  ASSERT_FALSE(resumed.ok());
  EXPECT_EQ(resumed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(resumed.status().message()), ::testing::HasSubstr("then resume again"));
  ASSERT_TRUE(m->Cancel(next->id()).ok());
  EXPECT_TRUE(m->Resume(queued->id()).ok());
  for (const std::string& id : {running->id(), queued->id(), anonymous->id()}) {
    ASSERT_TRUE(m->Cancel(id).ok());
  }
}

}  // namespace
}  // namespace mt::server
