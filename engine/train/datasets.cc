#include "engine/train/datasets.h"

#include "absl/strings/str_cat.h"
#include "engine/data/glove.h"

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

namespace {
absl::Status CheckSize(const char* field, int64_t want, int64_t have, const std::string& split) {
  if (want > have) {
    return absl::InvalidArgumentError(absl::StrCat("invalid ", field, " '", want, "': the ", split,
                                                   " split has only ", have,
                                                   " examples (0 = all)"));
  }
  return absl::OkStatus();
}

template <typename T>
std::vector<T> First(std::vector<T> v, int64_t n) {
  if (n > 0 && n < static_cast<int64_t>(v.size())) v.resize(n);
  return v;
}
}  // namespace

absl::StatusOr<TaskData> LoadTask(const TrainConfig& c) {
  if (absl::Status s = Validate(c); !s.ok()) return s;
  TaskData d;
  if (c.task == "mnist") {
    absl::StatusOr<data::MnistSplit> train = data::LoadMnist(c.data_dir, /*train=*/true);
    if (!train.ok()) return train.status();
    absl::StatusOr<data::MnistSplit> test = data::LoadMnist(c.data_dir, /*train=*/false);
    if (!test.ok()) return test.status();
    if (auto s = CheckSize("train_size", c.train_size, train->count, "MNIST training"); !s.ok()) return s;
    if (auto s = CheckSize("valid_size", c.valid_size, test->count, "MNIST test"); !s.ok()) return s;
    d.train = std::make_unique<MnistDataset>(
        c.train_size ? data::TakeFirst(*train, c.train_size) : std::move(*train));
    d.valid = std::make_unique<MnistDataset>(
        c.valid_size ? data::TakeFirst(*test, c.valid_size) : std::move(*test));
    d.train_name = "train";
    d.valid_name = "test";
    return d;
  }
  absl::StatusOr<std::vector<data::SentenceExample>> train =
      data::LoadSst2(c.data_dir, data::Sst2Split::kTrain);
  if (!train.ok()) return train.status();
  absl::StatusOr<std::vector<data::SentenceExample>> dev =
      data::LoadSst2(c.data_dir, data::Sst2Split::kDev);
  if (!dev.ok()) return dev.status();
  const int64_t ntrain = static_cast<int64_t>(train->size()), ndev = static_cast<int64_t>(dev->size());
  if (auto s = CheckSize("train_size", c.train_size, ntrain, "SST-2 training"); !s.ok()) return s;
  if (auto s = CheckSize("valid_size", c.valid_size, ndev, "SST-2 dev"); !s.ok()) return s;
  std::vector<data::SentenceExample> tr = First(std::move(*train), c.train_size);
  std::vector<data::SentenceExample> dv = First(std::move(*dev), c.valid_size);
  d.vocab = std::make_shared<data::Vocab>(data::Vocab::Build(tr, c.min_count));
  if (!c.embeddings_path.empty()) {
    data::GloveOptions go;
    go.expected_dim = c.embedding_dim;
    go.seed = c.seed;
    absl::StatusOr<data::PretrainedEmbeddings> glove = data::LoadGlove(c.embeddings_path, *d.vocab, go);
    if (!glove.ok()) return glove.status();
    std::vector<double> w(glove->weights.begin(), glove->weights.end());
    d.pretrained = Tensor::FromVector(w, {glove->vocab_size, glove->dim});
    d.notes = absl::StrCat("word vectors from ", c.embeddings_path, ": ", glove->found,
                           " found, ", glove->missing, " not found (random)");
  }
  d.train = std::make_unique<Sst2Dataset>(data::EncodeExamples(*d.vocab, tr), kSst2MinLength);
  d.valid = std::make_unique<Sst2Dataset>(data::EncodeExamples(*d.vocab, dv), kSst2MinLength);
  d.train_name = "train";
  d.valid_name = "dev";
  if (d.notes.empty()) d.notes = absl::StrCat("vocabulary: ", d.vocab->size(), " tokens");
  return d;
}

absl::StatusOr<std::unique_ptr<models::Model>> BuildModel(const TrainConfig& c,
                                                          const TaskData& data) {
  if (absl::Status s = Validate(c); !s.ok()) return s;
  try {
    if (c.model == "lenet5") return std::unique_ptr<models::Model>(new models::Lenet5(c.seed));
    if (c.model == "minitorch_mnist") {
      return std::unique_ptr<models::Model>(new models::MinitorchMnist(c.seed));
    }
    models::KimCnnOptions o;
    if (!data.vocab) return absl::FailedPreconditionError("kim_cnn needs the SST-2 vocabulary");
    o.vocab_size = data.vocab->size();
    o.embedding_dim = c.embedding_dim;
    o.dropout = c.dropout;
    o.pretrained = data.pretrained;
    o.freeze_embeddings = c.freeze_embeddings;
    return std::unique_ptr<models::Model>(new models::KimCnn(o, c.seed));
  } catch (const Error& e) {
    return absl::InvalidArgumentError(e.what());
  }
}

}  // namespace mt::train
