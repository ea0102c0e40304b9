#include "engine/train/dataset.h"

namespace mt::train {

Batch MnistDataset::Get(const int64_t* indices, int64_t n) const {
  Batch b;
  b.input = Tensor::Empty({n, 1, split_.rows, split_.cols});
  data::NormalizeImages(split_, indices, n, b.input.data<float>());
  b.target = Tensor::Empty({n}, DType::kInt64);
  data::GatherLabels(split_, indices, n, b.target.data<int64_t>());
  return b;
}

Batch Sst2Dataset::Get(const int64_t* indices, int64_t n) const {
  data::TokenBatch tb = data::MakeTokenBatch(examples_, indices, n, min_len_);
  Batch b;
  b.input = Tensor::FromInt64(tb.ids, {tb.batch_size, tb.max_len});
  b.target = Tensor::FromInt64(tb.labels, {tb.batch_size});
  return b;
}

}  // namespace mt::train
