#include "client/file_download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt::client {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileDownload>> FileDownload::Start(const std::string& path) {
  std::string temp = path + ".part-XXXXXX";
  std::vector<char> buf(temp.begin(), temp.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) return Errno(absl::StrCat("cannot create a file beside ", path));
  // mkstemp makes 0600; an exported model is an ordinary file.
  ::fchmod(fd, 0644);
  return std::unique_ptr<FileDownload>(new FileDownload(path, buf.data(), fd));
}

FileDownload::FileDownload(std::string path, std::string temp_path, int fd)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}

FileDownload::~FileDownload() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

absl::Status FileDownload::Add(const v1::FileChunk& chunk) {
  if (total_ < 0) {
    if (chunk.total_size() <= 0) {
      return absl::DataLossError("the daemon's first chunk does not give the file's size");
    }
    total_ = chunk.total_size();
  } else if (chunk.total_size() != 0 && chunk.total_size() != total_) {
    return absl::DataLossError(absl::StrCat("the file's size changed from ", total_, " to ",
                                            chunk.total_size(), " bytes mid-download"));
  }
  if (chunk.offset() != written_) {
    return absl::DataLossError(
        absl::StrCat("chunk at byte ", chunk.offset(), " where byte ", written_, " was expected"));
  }
  const std::string& data = chunk.data();
  if (static_cast<int64_t>(data.size()) > total_ - written_) {
    return absl::DataLossError(
        absl::StrCat("the daemon sent more than the announced ", total_, " bytes"));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(absl::StrCat("cannot write ", temp_path_));
    done += static_cast<size_t>(n);
  }
  written_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

absl::StatusOr<int64_t> FileDownload::Commit() {
  if (total_ < 0) return absl::DataLossError("the daemon sent no data");
  if (written_ != total_) {
    return absl::DataLossError(
        absl::StrCat("the download stopped after ", written_, " of ", total_, " bytes"));
  }
  // Durable before it becomes visible under its final name.
  if (::fsync(fd_) != 0) return Errno(absl::StrCat("cannot sync ", temp_path_));
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return Errno(absl::StrCat("cannot write ", temp_path_));
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return Errno(absl::StrCat("cannot rename ", temp_path_, " to ", path_));
  }
  committed_ = true;
  return written_;
}

}  // namespace mt::client
