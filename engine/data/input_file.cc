#include "engine/data/input_file.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mt::data {

namespace {

// gzread takes an unsigned int length; stay well below it.
constexpr size_t kMaxChunk = size_t{1} << 30;
constexpr size_t kLineChunk = size_t{1} << 16;

}  // namespace

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

InputFile::InputFile(std::string path, std::FILE* raw, gzFile_s* gz)
    : path_(std::move(path)), raw_(raw), gz_(gz) {}

InputFile::~InputFile() {
  if (raw_ != nullptr) std::fclose(raw_);
  if (gz_ != nullptr) gzclose(gz_);
}

absl::StatusOr<std::unique_ptr<InputFile>> InputFile::Open(const std::string& path) {
  if (IsDirectory(path)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, expected a data file"));
  }
  std::FILE* raw = std::fopen(path.c_str(), "rb");
  if (raw == nullptr) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrCat(path, ": file not found"));
    }
    return absl::ErrnoToStatus(err, absl::StrCat(path, ": cannot open"));
  }
  unsigned char magic[2] = {0, 0};
  const size_t got = std::fread(magic, 1, 2, raw);
  const bool is_gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (!is_gzip) {
    std::rewind(raw);
    return std::unique_ptr<InputFile>(new InputFile(path, raw, nullptr));
  }
  std::fclose(raw);
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot open gzip file"));
  }
  // Whole-file reads are the common case; a larger buffer halves the syscalls.
  gzbuffer(gz, 1 << 17);
  return std::unique_ptr<InputFile>(new InputFile(path, nullptr, gz));
}

absl::StatusOr<size_t> InputFile::Read(void* buf, size_t n) {
  char* out = static_cast<char*>(buf);
  size_t done = 0;
  if (raw_ != nullptr) {
    done = std::fread(out, 1, n, raw_);
    if (done < n && std::ferror(raw_)) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat(path_, ": read error at byte ", offset_ + done));
    }
    offset_ += done;
    return done;
  }
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min(n - done, kMaxChunk));
    const int got = gzread(gz_, out + done, chunk);
    int errnum = Z_OK;
    const char* msg = gzerror(gz_, &errnum);
    if (got < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR)) {
      return absl::DataLossError(absl::StrCat(path_, ": corrupt gzip data near decompressed byte ",
                                              offset_ + done, ": ", msg));
    }
    done += static_cast<size_t>(got);
    // zlib flags a stream that ends before its trailer as Z_BUF_ERROR and hands back what it
    // could decompress; without this check a cut-off download would look like a short file.
    if (errnum == Z_BUF_ERROR) {
      return absl::DataLossError(
          absl::StrCat(path_, ": truncated gzip stream: the compressed data stops before the "
                       "end of the stream (incomplete download?)"));
    }
    if (static_cast<unsigned>(got) < chunk) break;  // clean end of stream
  }
  offset_ += done;
  return done;
}

absl::StatusOr<bool> InputFile::ReadLine(std::string* line) {
  line->clear();
  while (true) {
    const size_t nl = line_buffer_.find('\n', line_pos_);
    if (nl != std::string::npos) {
      line->append(line_buffer_, line_pos_, nl - line_pos_);
      line_pos_ = nl + 1;
      break;
    }
    line->append(line_buffer_, line_pos_, std::string::npos);
    line_buffer_.clear();
    line_pos_ = 0;
    if (line_eof_) {
      if (line->empty()) return false;
      break;
    }
    line_buffer_.resize(kLineChunk);
    absl::StatusOr<size_t> got = Read(line_buffer_.data(), kLineChunk);
    if (!got.ok()) return got.status();
    line_buffer_.resize(*got);
    if (*got < kLineChunk) line_eof_ = true;
  }
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  absl::StatusOr<std::unique_ptr<InputFile>> file = InputFile::Open(path);
  if (!file.ok()) return file.status();
  std::string contents;
  constexpr size_t kChunk = size_t{1} << 20;
  while (true) {
    const size_t old_size = contents.size();
    contents.resize(old_size + kChunk);
    absl::StatusOr<size_t> got = (*file)->Read(contents.data() + old_size, kChunk);
    if (!got.ok()) return got.status();
    contents.resize(old_size + *got);
    if (*got < kChunk) break;
  }
  return contents;
}

}  // namespace mt::data
