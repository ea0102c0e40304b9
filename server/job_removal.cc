#include "server/job_removal.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace mt::server {

namespace fs = std::filesystem;

absl::Status CheckDeletable(const v1::Job& job) {
  switch (job.state()) {
    case v1::SUCCEEDED:
    case v1::FAILED:
    case v1::CANCELLED:
    case v1::INTERRUPTED:
      return absl::OkStatus();
    default:
      return absl::FailedPreconditionError(
          absl::StrCat("job ", job.id(), " is ", v1::JobState_Name(job.state()),
                       "; only finished jobs can be deleted: stop it first with `mt-client cancel ",
                       job.id(), "`"));
  }
}

int64_t FolderBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  // Symbolic links are not followed: only what the folder itself holds is counted.
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const auto size = it->file_size(size_ec);
      if (!size_ec) total += static_cast<int64_t>(size);
    }
  }
  return total;
}

absl::StatusOr<int64_t> RemoveJobFiles(const std::string& dir, const std::string& job_id) {
  const int64_t bytes = FolderBytes(dir);
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("job ", job_id, " is deleted, but its folder could not be removed: ", dir,
                     ": ", ec.message()));
  }
  return bytes;
}

}  // namespace mt::server
