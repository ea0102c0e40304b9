// Files that appear whole or not at all: bytes go to a temporary file beside the destination,
// which is synced, renamed over the destination, and the rename itself made durable by syncing
// the directory. A crash leaves either the old file or the new one, never a torn one.
// Used for checkpoints (the daemon) and downloads (mt-client).
#ifndef MT_COMMON_ATOMIC_FILE_H_
#define MT_COMMON_ATOMIC_FILE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mt::io {

class AtomicFileWriter {
 public:
  // Creates `<path>.part-XXXXXX` in the destination's folder (a rename across file systems would
  // not be atomic). Mode 0644.
  static absl::StatusOr<std::unique_ptr<AtomicFileWriter>> Create(const std::string& path);
  // Removes the temporary file unless Commit() succeeded.
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  absl::Status Append(absl::string_view bytes);
  // fsync, close, rename onto the destination, fsync the directory. Any failure is an error:
  // callers treat OK as "durable".
  absl::Status Commit();

  const std::string& temp_path() const { return temp_path_; }

 private:
  AtomicFileWriter(std::string path, std::string temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}
  std::string path_, temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole of `bytes`, atomically, as above.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes);

}  // namespace mt::io

#endif  // MT_COMMON_ATOMIC_FILE_H_
