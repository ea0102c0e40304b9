// `export`: FileChunks go to a temporary file beside the destination, which is renamed into place
// only once every byte has arrived, so an interrupted download never leaves a truncated
// .safetensors that looks complete.
#ifndef MT_CLIENT_FILE_DOWNLOAD_H_
#define MT_CLIENT_FILE_DOWNLOAD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/atomic_file.h"
#include "proto/training.pb.h"

namespace mt::client {

class FileDownload {
 public:
  // Creates `path`.part-XXXXXX in the destination's folder (a rename across file systems would
  // not be atomic).
  static absl::StatusOr<std::unique_ptr<FileDownload>> Start(const std::string& path);
  // Destroying it without a successful Commit() removes the temporary file.
  FileDownload(const FileDownload&) = delete;
  FileDownload& operator=(const FileDownload&) = delete;

  // Chunks must come in order (offset == bytes so far) and agree on total_size.
  absl::Status Add(const v1::FileChunk& chunk);
  // Checks that total_size bytes arrived, syncs, and renames onto the destination.
  // Returns the size.
  absl::StatusOr<int64_t> Commit();

  const std::string& temp_path() const { return file_->temp_path(); }

 private:
  explicit FileDownload(std::unique_ptr<io::AtomicFileWriter> file) : file_(std::move(file)) {}
  std::unique_ptr<io::AtomicFileWriter> file_;
  int64_t total_ = -1;
  int64_t written_ = 0;
};

}  // namespace mt::client

#endif  // MT_CLIENT_FILE_DOWNLOAD_H_
