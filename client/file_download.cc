#include "client/file_download.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace mt::client {

absl::StatusOr<std::unique_ptr<FileDownload>> FileDownload::Start(const std::string& path) {
  absl::StatusOr<std::unique_ptr<io::AtomicFileWriter>> file = io::AtomicFileWriter::Create(path);
  if (!file.ok()) return file.status();
  return std::unique_ptr<FileDownload>(new FileDownload(std::move(*file)));
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
  if (absl::Status st = file_->Append(data); !st.ok()) return st;
  written_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

absl::StatusOr<int64_t> FileDownload::Commit() {
  if (total_ < 0) return absl::DataLossError("the daemon sent no data");
  if (written_ != total_) {
    return absl::DataLossError(
        absl::StrCat("the download stopped after ", written_, " of ", total_, " bytes"));
  }
  if (absl::Status st = file_->Commit(); !st.ok()) return st;
  return written_;
}

}  // namespace mt::client
