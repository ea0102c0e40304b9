// Sequential reading of a data file that may or may not be gzip-compressed. Every loader in this
// package reads through here so that each accepts .gz and plain files alike and reports open and
// read failures in the same words.
#ifndef MT_ENGINE_DATA_INPUT_FILE_H_
#define MT_ENGINE_DATA_INPUT_FILE_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// zlib's gzFile is a pointer to this; declared here so that users of this header need not
// include <zlib.h>.
struct gzFile_s;

namespace mt::data {

class InputFile {
 public:
  // Opens `path` for reading. Compression is detected from the gzip magic bytes (1f 8b), not from
  // the name, so a file that was gunzipped but kept its ".gz" (or the reverse) still reads.
  // NotFound when the file does not exist, InvalidArgument when it is a directory.
  static absl::StatusOr<std::unique_ptr<InputFile>> Open(const std::string& path);

  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  bool gzipped() const { return gz_ != nullptr; }
  // Decompressed bytes handed out so far; error messages quote it as the offset.
  uint64_t offset() const { return offset_; }

  // Reads up to `n` bytes into `buf` and returns how many were read: fewer than `n` only at the
  // end of the data. DataLoss when the gzip stream is corrupt or was cut short; both are damage
  // the caller cannot see from a short count alone.
  absl::StatusOr<size_t> Read(void* buf, size_t n);

  // Reads the next line into `line` without its '\n' (or "\r\n"). Returns false at the end of the
  // file. A last line without '\n' is still returned.
  absl::StatusOr<bool> ReadLine(std::string* line);

 private:
  InputFile(std::string path, std::FILE* raw, gzFile_s* gz);

  std::string path_;
  std::FILE* raw_ = nullptr;  // exactly one of raw_ and gz_ is set
  gzFile_s* gz_ = nullptr;
  uint64_t offset_ = 0;

  // ReadLine's look-ahead; Read() must not be mixed with ReadLine() on one file.
  std::string line_buffer_;
  size_t line_pos_ = 0;
  bool line_eof_ = false;
};

// Reads a whole (possibly gzipped) file into memory. For the small text files (SST-2 is 4 MB).
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// True if `path` names an existing regular file (following symlinks).
bool IsRegularFile(const std::string& path);

// True if `path` names an existing directory.
bool IsDirectory(const std::string& path);

}  // namespace mt::data

#endif  // MT_ENGINE_DATA_INPUT_FILE_H_
