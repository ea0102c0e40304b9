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

absl::Status CheckJobId(const std::string& id) { return CheckLength("job id", id, kMaxJobIdBytes); }

absl::Status CheckJobName(const std::string& name) {
  if (absl::Status s = CheckLength("name", name, kMaxNameBytes); !s.ok()) return s;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid name '", ShortQuote(name),
                       "': control characters (newlines, tabs, escapes) are not allowed"));
    }
  }
  return absl::OkStatus();
}

}  // namespace mt::server
