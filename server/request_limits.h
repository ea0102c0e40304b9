// Bounds on what one request may ask of the daemon, checked before any work is done: lengths of
// ids and names (so that errors quoting them stay small), the size of inference inputs, and the
// memory an inference may use. Each check's error names the field, what was sent (briefly) and
// the limit.
#ifndef MT_SERVER_REQUEST_LIMITS_H_
#define MT_SERVER_REQUEST_LIMITS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace mt::server {

// Job ids are the daemon's own ("job-" and six or more digits); anything longer is not one.
inline constexpr size_t kMaxJobIdBytes = 64;
// task, model, optimizer, device: the registry's names are all far shorter.
inline constexpr size_t kMaxNameBytes = 64;
// A path on the daemon's machine (PATH_MAX).
inline constexpr size_t kMaxPathBytes = 4096;

struct InferenceLimits {
  int64_t max_text_bytes = 64 << 10;  // a sentence, not a book
  int64_t max_text_tokens = 10000;
  int64_t max_png_bytes = 1 << 20;    // a 28x28 PNG is a few hundred bytes
  // Estimated bytes one forward pass may allocate (activations and scratch); 0 = no budget.
  int64_t memory_bytes = int64_t{1} << 30;
};

// InvalidArgument naming `field` when `value` is longer than `max_bytes` (quoting a prefix).
absl::Status CheckLength(const std::string& field, const std::string& value, size_t max_bytes);
// CheckLength("job id", id, kMaxJobIdBytes): the words of mt-client JOB, not of the API.
absl::Status CheckJobId(const std::string& id);
// A job's name (JobSpec.name, mt-client --name): at most kMaxNameBytes, no control characters
// (it is printed in tables and logs, where a newline or an escape sequence would forge lines).
absl::Status CheckJobName(const std::string& name);

}  // namespace mt::server

#endif  // MT_SERVER_REQUEST_LIMITS_H_
