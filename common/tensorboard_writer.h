// Writes TensorBoard event files: `<dir>/events.out.tfevents.<unix seconds>.<host>`, a sequence
// of TFRecords (little-endian uint64 length, masked CRC-32C of those 8 bytes, the serialized
// mt.tensorboard.Event, masked CRC-32C of it), starting with the "brain.Event:2" version event,
// so that `tensorboard --logdir <dir>` shows the scalars and images.
//
// Each Add* is written and flushed to the OS at once (TensorBoard reads files as they grow); no
// fsync: the files are a view of the history, whose record of truth is the daemon's database.
// Not thread-safe: one writer per job run, used from that run's thread.
#ifndef MT_COMMON_TENSORBOARD_WRITER_H_
#define MT_COMMON_TENSORBOARD_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt {

class TensorBoardWriter {
 public:
  // Creates `dir` (and parents) and a new event file in it; a file of that name that exists
  // already (two runs in one second) gets ".1", ".2", ... appended instead of being replaced.
  // `wall_time`: seconds since the epoch for the file name and the version event; < 0 = now.
  static absl::StatusOr<std::unique_ptr<TensorBoardWriter>> Create(const std::string& dir,
                                                                   double wall_time = -1);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  const std::string& path() const { return path_; }

  // A scalar (stored as float, as TensorBoard's simple_value is).
  absl::Status AddScalar(const std::string& tag, int64_t step, double value,
                         double wall_time = -1);
  // A PNG image of `width` x `height` with `channels` 1 (gray), 3 (RGB) or 4 (RGBA).
  absl::Status AddImage(const std::string& tag, int64_t step, const std::string& png, int width,
                        int height, int channels, double wall_time = -1);

  // The framing of one record around `data` (exposed for tests).
  static std::string FrameRecord(const std::string& data);

 private:
  TensorBoardWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  absl::Status WriteEvent(const std::string& serialized_event);

  std::string path_;
  std::FILE* file_;
};

}  // namespace mt

#endif  // MT_COMMON_TENSORBOARD_WRITER_H_
