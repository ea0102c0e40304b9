#include "server/request_limits.h"

#include "absl/strings/str_cat.h"
#include "common/short_quote.h"

namespace mt::server {

absl::Status CheckLength(const std::string& field, const std::string& value, size_t max_bytes) {
  if (value.size() <= max_bytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("invalid ", field, " '", ShortQuote(value),
                                                 "': ", value.size(), " bytes long; at most ",
                                                 max_bytes, " are allowed"));
}

absl::Status CheckJobId(const std::string& id) { return CheckLength("job_id", id, kMaxJobIdBytes); }

}  // namespace mt::server
