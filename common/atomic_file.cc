#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt::io {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AtomicFileWriter>> AtomicFileWriter::Create(
    const std::string& path) {
  std::string temp = path + ".part-XXXXXX";
  std::vector<char> buf(temp.begin(), temp.end());
  buf.push_back('\0');
  const int fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) return Errno(absl::StrCat("cannot create a file beside ", path));
  ::fchmod(fd, 0644);  // mkstemp makes 0600; these are ordinary files
  return std::unique_ptr<AtomicFileWriter>(new AtomicFileWriter(path, buf.data(), fd));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

absl::Status AtomicFileWriter::Append(absl::string_view bytes) {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat(temp_path_, " is closed"));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(absl::StrCat("cannot write ", temp_path_));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status AtomicFileWriter::Commit() {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat(temp_path_, " is closed"));
  const bool synced = ::fsync(fd_) == 0;
  const std::string sync_err = synced ? "" : std::strerror(errno);
  const int fd = fd_;
  fd_ = -1;
  const bool closed = ::close(fd) == 0;  // always close, even when fsync failed
  if (!synced) {
    return absl::UnavailableError(absl::StrCat("cannot sync ", temp_path_, ": ", sync_err));
  }
  if (!closed) return Errno(absl::StrCat("cannot write ", temp_path_));
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return Errno(absl::StrCat("cannot rename ", temp_path_, " to ", path_));
  }
  committed_ = true;
  const std::string dir = DirOf(path_);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno(absl::StrCat("cannot open ", dir, " to sync the rename of ", path_));
  const bool dir_synced = ::fsync(dfd) == 0;
  const std::string dir_err = dir_synced ? "" : std::strerror(errno);
  ::close(dfd);
  if (!dir_synced) {
    return absl::UnavailableError(
        absl::StrCat("cannot sync ", dir, " after renaming ", path_, ": ", dir_err));
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes) {
  absl::StatusOr<std::unique_ptr<AtomicFileWriter>> w = AtomicFileWriter::Create(path);
  if (!w.ok()) return w.status();
  if (absl::Status s = (*w)->Append(bytes); !s.ok()) return s;
  return (*w)->Commit();
}

}  // namespace mt::io
