// Quoting user input in error messages: at most a short prefix, so that a 10 KB name sent by a
// client is not echoed whole (gRPC then refuses the oversized status as RESOURCE_EXHAUSTED
// "metadata size exceeds limit" and the real error is lost), nor written whole to the log.
#ifndef MT_COMMON_SHORT_QUOTE_H_
#define MT_COMMON_SHORT_QUOTE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace mt {

inline constexpr size_t kQuotedPrefixBytes = 32;

// `s` itself when it has at most `max_bytes` bytes, else its first `max_bytes` bytes (cut at a
// UTF-8 character boundary) followed by "…". Control characters become '?', so a quoted value
// cannot break a log line or a terminal.
std::string ShortQuote(absl::string_view s, size_t max_bytes = kQuotedPrefixBytes);

}  // namespace mt

#endif  // MT_COMMON_SHORT_QUOTE_H_
