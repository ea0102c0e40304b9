#include "server/job_pages.h"

#include <gtest/gtest.h>

namespace mt::server {
namespace {

std::vector<v1::Job> Jobs(int n) {
  std::vector<v1::Job> out(n);
  for (int i = 0; i < n; ++i) out[i].set_id("j" + std::to_string(i));
  return out;
}

std::vector<std::string> Ids(const v1::ListJobsResponse& r) {
  std::vector<std::string> out;
  for (const v1::Job& j : r.jobs()) out.push_back(j.id());
  return out;
}

TEST(JobsPage, WalksEveryJobOnceInOrder) {
  absl::StatusOr<v1::ListJobsResponse> p = JobsPage(Jobs(5), 2, "");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(Ids(*p), (std::vector<std::string>{"j0", "j1"}));
  EXPECT_EQ(p->next_page_token(), "j1");
  p = JobsPage(Jobs(5), 2, "j1");
  EXPECT_EQ(Ids(*p), (std::vector<std::string>{"j2", "j3"}));
  EXPECT_EQ(p->next_page_token(), "j3");
  p = JobsPage(Jobs(5), 2, "j3");
  EXPECT_EQ(Ids(*p), (std::vector<std::string>{"j4"}));
  EXPECT_EQ(p->next_page_token(), "");
  // An exact fit ends without an empty extra page.
  p = JobsPage(Jobs(4), 2, "j1");
  EXPECT_EQ(Ids(*p), (std::vector<std::string>{"j2", "j3"}));
  EXPECT_EQ(p->next_page_token(), "");
}

TEST(JobsPage, DefaultAndMaximumSizes) {
  EXPECT_EQ(JobsPage(Jobs(250), 0, "")->jobs_size(), kDefaultJobsPageSize);
  EXPECT_EQ(JobsPage(Jobs(2500), 5000, "")->jobs_size(), kMaxJobsPageSize);
  EXPECT_EQ(JobsPage(Jobs(0), 0, "")->jobs_size(), 0);
}

TEST(JobsPage, BadSizeOrTokenIsInvalidArgument) {
  EXPECT_EQ(JobsPage(Jobs(3), -1, "").status().code(), absl::StatusCode::kInvalidArgument);
  absl::Status s = JobsPage(Jobs(3), 1, std::string(10000, 'x')).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(s.message().size(), 200u) << "the token is quoted briefly";
}

}  // namespace
}  // namespace mt::server
