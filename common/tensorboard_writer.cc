#include "common/tensorboard_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/crc32c.h"
#include "proto/tensorboard.pb.h"

namespace mt {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PutLittleEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// The host name as TensorFlow puts it in file names; "localhost" when it cannot be read.
std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string host = buf;
  // A name with a slash would make a path of the file name.
  for (char& c : host) {
    if (c == '/') c = '_';
  }
  return host;
}

}  // namespace

std::string TensorBoardWriter::FrameRecord(const std::string& data) {
  std::string out;
  out.reserve(data.size() + 16);
  PutLittleEndian(data.size(), 8, &out);
  PutLittleEndian(MaskCrc32c(Crc32c(out.data(), 8)), 4, &out);
  out += data;
  PutLittleEndian(MaskCrc32c(Crc32c(data.data(), data.size())), 4, &out);
  return out;
}

absl::StatusOr<std::unique_ptr<TensorBoardWriter>> TensorBoardWriter::Create(
    const std::string& dir, double wall_time) {
  if (wall_time < 0) wall_time = Now();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create TensorBoard folder ", dir, ": ", ec.message()));
  }
  const std::string base = absl::StrCat(dir, "/events.out.tfevents.",
                                        static_cast<int64_t>(std::floor(wall_time)), ".",
                                        HostName());
  std::string path = base;
  int fd = -1;
  for (int n = 1; n <= 1000; ++n) {
    // O_EXCL: never append to or replace another run's file.
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EEXIST) break;
    path = absl::StrCat(base, ".", n);
  }
  if (fd < 0) {
    return absl::Status(errno == ENOSPC ? absl::StatusCode::kResourceExhausted
                                        : absl::StatusCode::kPermissionDenied,
                        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  std::FILE* f = ::fdopen(fd, "wb");
  if (f == nullptr) {
    ::close(fd);
    return absl::InternalError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::unique_ptr<TensorBoardWriter> w(new TensorBoardWriter(path, f));
  tensorboard::Event version;
  version.set_wall_time(wall_time);
  version.set_step(0);
  version.set_file_version("brain.Event:2");
  if (absl::Status s = w->WriteEvent(version.SerializeAsString()); !s.ok()) return s;
  return w;
}

TensorBoardWriter::~TensorBoardWriter() { std::fclose(file_); }

absl::Status TensorBoardWriter::WriteEvent(const std::string& serialized_event) {
  const std::string record = FrameRecord(serialized_event);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() ||
      std::fflush(file_) != 0) {
    const int e = errno;
    std::clearerr(file_);
    return absl::Status(e == ENOSPC ? absl::StatusCode::kResourceExhausted
                                    : absl::StatusCode::kInternal,
                        absl::StrCat("cannot write ", path_, ": ", std::strerror(e)));
  }
  return absl::OkStatus();
}

absl::Status TensorBoardWriter::AddScalar(const std::string& tag, int64_t step, double value,
                                          double wall_time) {
  tensorboard::Event e;
  e.set_wall_time(wall_time < 0 ? Now() : wall_time);
  e.set_step(step);
  tensorboard::Summary::Value* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  return WriteEvent(e.SerializeAsString());
}

absl::Status TensorBoardWriter::AddImage(const std::string& tag, int64_t step,
                                         const std::string& png, int width, int height,
                                         int channels, double wall_time) {
  if (channels != 1 && channels != 3 && channels != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("TensorBoard image ", tag, " has ", channels, " channels; need 1, 3 or 4"));
  }
  tensorboard::Event e;
  e.set_wall_time(wall_time < 0 ? Now() : wall_time);
  e.set_step(step);
  tensorboard::Summary::Value* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  tensorboard::Summary::Image* img = v->mutable_image();
  img->set_height(height);
  img->set_width(width);
  img->set_colorspace(channels);
  img->set_encoded_image_string(png);
  return WriteEvent(e.SerializeAsString());
}

}  // namespace mt
