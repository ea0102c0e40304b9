// Datasets as the trainer sees them: a size and a way to build a batch from example indices,
// and a task's loaded data (engine/tasks loads it; engine/train/datasets.h is the entry point).
#ifndef MT_ENGINE_TRAIN_DATASET_H_
#define MT_ENGINE_TRAIN_DATASET_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/data/mnist.h"
#include "engine/data/sst2.h"
#include "engine/tensor.h"

namespace mt::train {

struct Batch {
  Tensor input;   // images (N, 1, H, W) float32 or token ids (N, L) int64
  Tensor target;  // (N) int64 class ids
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Batch Get(const int64_t* indices, int64_t n) const = 0;
};

// MNIST images normalised as PyTorch users do: (p/255 - 0.1307) / 0.3081.
class MnistDataset : public Dataset {
 public:
  explicit MnistDataset(data::MnistSplit split) : split_(std::move(split)) {}
  int64_t size() const override { return split_.count; }
  Batch Get(const int64_t* indices, int64_t n) const override;
  const data::MnistSplit& split() const { return split_; }

 private:
  data::MnistSplit split_;
};

// Sentences are padded to at least this many tokens. kim_cnn's results do not depend on the
// padding (see KimCnn); one shared value keeps training and serving batches alike anyway.
inline constexpr int64_t kSst2MinLength = 5;

// SST-2 sentences padded to the batch's longest (at least min_len) with id 0.
class Sst2Dataset : public Dataset {
 public:
  Sst2Dataset(std::vector<data::EncodedExample> examples, int64_t min_len)
      : examples_(std::move(examples)), min_len_(min_len) {}
  int64_t size() const override { return static_cast<int64_t>(examples_.size()); }
  Batch Get(const int64_t* indices, int64_t n) const override;

 private:
  std::vector<data::EncodedExample> examples_;
  int64_t min_len_;
};

// A task's data, loaded and ready, plus what building its model needs.
struct TaskData {
  std::unique_ptr<Dataset> train, valid;
  std::string train_name, valid_name;  // e.g. "train", "test" for MNIST; "train", "dev" for SST-2
  std::shared_ptr<data::Vocab> vocab;  // sst2 only
  Tensor pretrained;                   // sst2 with an embeddings file
  std::string notes;                   // e.g. "GloVe: 14012 found, 1744 random"
};

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_DATASET_H_
