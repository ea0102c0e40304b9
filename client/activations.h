// `activations`: reassembling the daemon's chunked layer outputs and writing them to disk.
#ifndef MT_CLIENT_ACTIVATIONS_H_
#define MT_CLIENT_ACTIVATIONS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/training.pb.h"

namespace mt::client {

struct LayerTensor {
  std::string layer;
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, product(shape) values
};

// Rebuilds each layer's tensor from ActivationChunks. Chunks are placed by offset, so they may
// arrive in any order (and layers may interleave); overlaps, gaps, chunks past the end, shapes
// that change and chunks after a layer's last one are errors naming the layer and offsets, since
// each means the picture would silently be wrong.
class ActivationAssembler {
 public:
  // The most values one layer, and all layers together, may have (1 GiB of float32): a bigger
  // shape is a corrupt message, not something to allocate, and so is a stream that announces
  // layer after layer until memory runs out.
  static constexpr int64_t kMaxValues = int64_t{1} << 28;

  explicit ActivationAssembler(int64_t max_values = kMaxValues) : max_values_(max_values) {}

  absl::Status Add(const v1::ActivationChunk& chunk);
  // After the stream ended: every layer, in order of first appearance, or an error naming a
  // layer whose last chunk never came.
  absl::StatusOr<std::vector<LayerTensor>> Finish();
  // The true label from the first chunk; -1 when the input was not a held-out example.
  int64_t label() const { return label_; }

 private:
  struct Pending {
    LayerTensor tensor;
    std::map<int64_t, int64_t> ranges;  // start → end of every chunk received
    int64_t received = 0;
    bool complete = false;
  };
  std::vector<Pending> layers_;
  std::map<std::string, size_t> index_;
  int64_t label_ = -1;
  bool any_chunk_ = false;
  const int64_t max_values_;
  int64_t allocated_values_ = 0;  // of every layer so far; at most max_values_
};

// A layer name as a file name: characters other than [A-Za-z0-9._-] become '_', and a leading
// '.' is prefixed so no name can point outside the folder or hide.
std::string LayerFileStem(const std::string& layer);

struct WrittenLayer {
  std::string layer;
  std::vector<int64_t> shape;
  std::vector<std::string> paths;  // .f32, .json and (4 or 3 dims) .png
  std::string warning;             // why a picture was skipped, if it was
};

// Creates `dir` (and parents) and writes, per layer, <stem>.f32 (raw little-endian float32),
// <stem>.json ({"shape": [...], "dtype": "float32", "layer": name}) and a picture of sample 0:
// a grid of the C feature maps for (N, C, H, W), C rows of L cells for (N, C, L).
absl::StatusOr<std::vector<WrittenLayer>> WriteActivationFiles(
    const std::string& dir, const std::vector<LayerTensor>& layers);

// mkdir -p.
absl::Status MakeDirs(const std::string& dir);

}  // namespace mt::client

#endif  // MT_CLIENT_ACTIVATIONS_H_
