#include "engine/data/test_util.h"

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace mt::data::testing {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return (dir != nullptr ? std::string(dir) : ::testing::TempDir()) + "/" + name;
}

void WriteFile(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out.good()) << "cannot create " << path;
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

void WriteGzipFile(const std::string& path, absl::string_view bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr) << "cannot create " << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()))
        << "cannot write " << path;
  }
  ASSERT_EQ(gzclose(gz), Z_OK) << "cannot close " << path;
}

std::string ReadRawFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

::testing::AssertionResult HasError(const absl::Status& status, absl::StatusCode code,
                                    const std::vector<std::string>& substrings) {
  if (status.code() != code) {
    return ::testing::AssertionFailure()
           << "expected code " << absl::StatusCodeToString(code) << ", got " << status;
  }
  for (const std::string& s : substrings) {
    if (status.message().find(s) == absl::string_view::npos) {
      return ::testing::AssertionFailure()
             << "message lacks \"" << s << "\": " << status;
    }
  }
  return ::testing::AssertionSuccess() << status;
}

}  // namespace mt::data::testing
