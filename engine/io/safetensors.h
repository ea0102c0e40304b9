// The safetensors file format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length, a JSON header mapping each tensor name to {dtype, shape, data_offsets} plus an
// optional "__metadata__" object of string pairs, then the raw little-endian data.
// PyTorch's `safetensors.torch.load_file` reads what WriteSafetensors writes. mt's checkpoints
// use the same format, with optimiser state and training position in tensors and metadata.
#ifndef MT_ENGINE_IO_SAFETENSORS_H_
#define MT_ENGINE_IO_SAFETENSORS_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/atomic_file.h"
#include "engine/tensor.h"

namespace mt::io {

struct TensorFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order
  std::map<std::string, std::string> metadata;

  // The tensor named `name`, or NotFound naming what the file holds.
  absl::StatusOr<Tensor> Get(const std::string& name) const;
};

// Serialises to bytes (tensors in the given order; names must be unique and non-empty).
absl::StatusOr<std::string> EncodeSafetensors(const TensorFile& file);
absl::StatusOr<TensorFile> DecodeSafetensors(const std::string& bytes, const std::string& origin);

// Writes atomically: a temporary file in the same directory, fsync, rename over `path`, fsync of
// the directory. A crash leaves either the old file or the new one, never a torn one.
absl::Status WriteSafetensors(const std::string& path, const TensorFile& file);
absl::StatusOr<TensorFile> ReadSafetensors(const std::string& path);

// Only the metadata, read from the header: for callers that need the epoch of a checkpoint that
// may be many megabytes.
absl::StatusOr<std::map<std::string, std::string>> ReadSafetensorsMetadata(
    const std::string& path);


}  // namespace mt::io

#endif  // MT_ENGINE_IO_SAFETENSORS_H_
