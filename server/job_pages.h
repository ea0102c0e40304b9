// ListJobs pages: a list is cut into pages of at most page_size jobs; a page's token is the id
// of its last job, so the next page starts right after it. Jobs are listed newest first, so
// jobs submitted between two calls appear before the first page and never shift later pages.
#ifndef MT_SERVER_JOB_PAGES_H_
#define MT_SERVER_JOB_PAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/training.pb.h"

namespace mt::server {

inline constexpr int32_t kDefaultJobsPageSize = 100;
inline constexpr int32_t kMaxJobsPageSize = 1000;

// `jobs`: the whole list in order; `page_size` 0 = the default, above the maximum = the
// maximum, negative = InvalidArgument; `page_token` "" = the first page, else a token from an
// earlier page (InvalidArgument when it names no job in `jobs`). next_page_token is "" on the
// last page.
absl::StatusOr<v1::ListJobsResponse> JobsPage(std::vector<v1::Job> jobs, int32_t page_size,
                                              const std::string& page_token);

}  // namespace mt::server

#endif  // MT_SERVER_JOB_PAGES_H_
