// MNIST from the original IDX files (LeCun et al.), gzip-compressed or not.
//
// Error codes, so that callers can tell the user what to do:
//   NotFound         the file (or a directory to search) does not exist: fetch the data.
//   DataLoss         the bytes are damaged: truncated header or data, corrupt gzip, extra bytes.
//   InvalidArgument  the file is intact but not what was asked for: wrong magic number, rows or
//                    cols not positive, a label above 9, image and label counts that differ.
// Every message starts with the path of the file at fault.
#ifndef MT_ENGINE_DATA_MNIST_H_
#define MT_ENGINE_DATA_MNIST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mt::data {

// IDX magic numbers: 0x08 = unsigned byte elements, last byte = number of dimensions.
inline constexpr int32_t kIdxImagesMagic = 2051;  // 0x00000803
inline constexpr int32_t kIdxLabelsMagic = 2049;  // 0x00000801

// torchvision's MNIST normalisation constants (mean and std of the training pixels in [0, 1]);
// models ported from PyTorch expect inputs scaled this way.
inline constexpr float kMnistMean = 0.1307f;
inline constexpr float kMnistStd = 0.3081f;

struct MnistSplit {
  int64_t count = 0;  // number of images (= number of labels)
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> pixels;  // (count, rows, cols) row-major; 0 = background, 255 = ink
  std::vector<int64_t> labels;  // (count), each in [0, 9]

  int64_t image_size() const { return rows * cols; }
};

// Loads one split from an IDX3 image file and the IDX1 label file that goes with it.
absl::StatusOr<MnistSplit> LoadMnistSplit(const std::string& images_path,
                                          const std::string& labels_path);

// Loads the training (60,000) or test (10,000) split from `dir`, which is the folder holding
// train-images-idx3-ubyte.gz and friends, or a data root with them under mnist/. For each file
// the .gz name is tried first, then the uncompressed name, then the "images.idx3-ubyte" spelling
// some mirrors use. NotFound, listing the names tried, when none exists.
absl::StatusOr<MnistSplit> LoadMnist(const std::string& dir, bool train);

// The first min(n, split.count) examples, e.g. a quick subset for smoke runs. n < 0 means none.
MnistSplit TakeFirst(const MnistSplit& split, int64_t n);

// Writes images indices[0..n) as floats normalised like torchvision's
// ToTensor() + Normalize((0.1307,), (0.3081,)): x = (p / 255 - 0.1307) / 0.3081, computed in
// float32 in that order so values match PyTorch bit for bit.
// indices: (n), each in [0, split.count)   out: (n, 1, rows, cols) contiguous.
// Aborts on an out-of-range index: that is a bug in the caller's sampler, not bad data.
void NormalizeImages(const MnistSplit& split, const int64_t* indices, int64_t n, float* out);

// out[i] = split.labels[indices[i]].  indices: (n)  out: (n). Aborts on an out-of-range index.
void GatherLabels(const MnistSplit& split, const int64_t* indices, int64_t n, int64_t* out);

}  // namespace mt::data

#endif  // MT_ENGINE_DATA_MNIST_H_
