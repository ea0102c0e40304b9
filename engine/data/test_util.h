// Fixture helpers for this package's tests: files written under TEST_TMPDIR, never real data.
#ifndef MT_ENGINE_DATA_TEST_UTIL_H_
#define MT_ENGINE_DATA_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace mt::data::testing {

// A path for `name` in the test's private scratch directory.
std::string TempPath(const std::string& name);

// Writes `bytes` to `path` as they are, or gzip-compressed. Fails the test on I/O errors.
void WriteFile(const std::string& path, absl::string_view bytes);
void WriteGzipFile(const std::string& path, absl::string_view bytes);

// Reads back a file written above, as raw bytes.
std::string ReadRawFile(const std::string& path);

// Success when `status` has `code` and its message contains every one of `substrings`;
// otherwise a failure that prints the whole status.
::testing::AssertionResult HasError(const absl::Status& status, absl::StatusCode code,
                                    const std::vector<std::string>& substrings);

}  // namespace mt::data::testing

#endif  // MT_ENGINE_DATA_TEST_UTIL_H_
