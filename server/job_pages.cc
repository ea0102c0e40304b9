#include "server/job_pages.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/short_quote.h"

namespace mt::server {

absl::StatusOr<v1::ListJobsResponse> JobsPage(std::vector<v1::Job> jobs, int32_t page_size,
                                              const std::string& page_token) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid page_size '", page_size,
                                                   "': must be >= 0 (0 = ", kDefaultJobsPageSize,
                                                   "; at most ", kMaxJobsPageSize, ")"));
  }
  const size_t size = static_cast<size_t>(
      page_size == 0 ? kDefaultJobsPageSize : std::min(page_size, kMaxJobsPageSize));
  size_t begin = 0;
  if (!page_token.empty()) {
    auto it = std::find_if(jobs.begin(), jobs.end(),
                           [&](const v1::Job& j) { return j.id() == page_token; });
    if (it == jobs.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid page_token '", ShortQuote(page_token),
                       "': use the next_page_token of an earlier ListJobs with the same filter"));
    }
    begin = static_cast<size_t>(it - jobs.begin()) + 1;
  }
  v1::ListJobsResponse page;
  const size_t end = std::min(jobs.size(), begin + size);
  for (size_t i = begin; i < end; ++i) *page.add_jobs() = std::move(jobs[i]);
  if (end < jobs.size()) page.set_next_page_token(page.jobs(page.jobs_size() - 1).id());
  return page;
}

}  // namespace mt::server
