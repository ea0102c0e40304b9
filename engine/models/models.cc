#include "engine/models/models.h"

#include <algorithm>

#include "engine/autograd.h"

namespace mt::models {
namespace {
void Record(Activations* a, const char* name, const Tensor& t) {
  if (a) a->emplace_back(name, t.Detach());
}
}  // namespace

std::unique_ptr<Model> Model::NewReplica() const {
  std::unique_ptr<Model> replica = NewSameArchitecture();
  replica->ShareParametersWith(*this);
  replica->Train(is_training());
  return replica;
}

MinitorchMnist::MinitorchMnist(uint64_t seed) : Model(seed) {
  Generator gen(seed);
  Conv2dOptions same;  // MiniTorch: output as large as the input, zero past bottom/right
  same.pad_bottom = same.pad_right = 2;
  conv1_ = RegisterModule("conv1", std::make_shared<nn::Conv2d>(1, 4, 3, 3, gen, same));
  conv2_ = RegisterModule("conv2", std::make_shared<nn::Conv2d>(4, 8, 3, 3, gen, same));
  fc1_ = RegisterModule("fc1", std::make_shared<nn::Linear>(392, 64, gen));
  fc2_ = RegisterModule("fc2", std::make_shared<nn::Linear>(64, 10, gen));
  dropout_ = RegisterModule("dropout", std::make_shared<nn::Dropout>(0.25, &dropout_gen_));
  FlattenParameters();
}

Tensor MinitorchMnist::Forward(const Tensor& x, Activations* a) {
  MT_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28,
           "minitorch_mnist expects images (N, 1, 28, 28), got ", ShapeToString(x.shape()));
  Tensor h = Relu(conv1_->Forward(x));
  Record(a, "conv1", h);
  h = Relu(conv2_->Forward(h));
  Record(a, "conv2", h);
  h = AvgPool2d(h, 4, 4);
  Record(a, "pool", h);
  h = Relu(fc1_->Forward(Flatten(h, 1)));
  Record(a, "fc1", h);
  h = fc2_->Forward(dropout_->Forward(h));
  Record(a, "logits", h);
  return LogSoftmax(h, 1);
}

Lenet5::Lenet5(uint64_t seed) : Model(seed) {
  Generator gen(seed);
  Conv2dOptions pad2;
  pad2.pad_top = pad2.pad_bottom = pad2.pad_left = pad2.pad_right = 2;
  conv1_ = RegisterModule("conv1", std::make_shared<nn::Conv2d>(1, 6, 5, 5, gen, pad2));
  conv2_ = RegisterModule("conv2", std::make_shared<nn::Conv2d>(6, 16, 5, 5, gen));
  fc1_ = RegisterModule("fc1", std::make_shared<nn::Linear>(400, 120, gen));
  fc2_ = RegisterModule("fc2", std::make_shared<nn::Linear>(120, 84, gen));
  fc3_ = RegisterModule("fc3", std::make_shared<nn::Linear>(84, 10, gen));
  FlattenParameters();
}

Tensor Lenet5::Forward(const Tensor& x, Activations* a) {
  MT_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28,
           "lenet5 expects images (N, 1, 28, 28), got ", ShapeToString(x.shape()));
  Tensor h;
  if (a == nullptr) {
    // ReLU then 2x2 max pool equals max pool then ReLU (ReLU is monotone), values and
    // gradients alike (a window's first maximum is the same position; a window with no
    // positive value passes no gradient either way), and the ReLU then touches a quarter of
    // the elements. One op each (mt::Conv2dMaxPoolRelu): on the CPU conv1's output is pooled
    // sample by sample while still in cache; conv2 (im2col + Gemm) runs the three ops.
    h = conv1_->ForwardMaxPoolRelu(x, 2, 2);  // (N, 6, 14, 14)
    h = conv2_->ForwardMaxPoolRelu(h, 2, 2);  // (N, 16, 5, 5)
  } else {  // the feature maps a picture shows are the ReLU outputs before pooling
    h = Relu(conv1_->Forward(x));  // (N, 6, 28, 28)
    Record(a, "conv1", h);
    h = MaxPool2d(h, 2, 2);  // (N, 6, 14, 14)
    Record(a, "pool1", h);
    h = Relu(conv2_->Forward(h));  // (N, 16, 10, 10)
    Record(a, "conv2", h);
    h = MaxPool2d(h, 2, 2);  // (N, 16, 5, 5)
    Record(a, "pool2", h);
  }
  h = Relu(fc1_->Forward(Flatten(h, 1)));
  Record(a, "fc1", h);
  h = Relu(fc2_->Forward(h));
  Record(a, "fc2", h);
  h = fc3_->Forward(h);
  Record(a, "logits", h);
  return LogSoftmax(h, 1);
}

KimCnn::KimCnn(const KimCnnOptions& o, uint64_t seed) : Model(seed), options_(o) {
  MT_CHECK(o.vocab_size > 1, "kim_cnn: vocab_size must be > 1, got ", o.vocab_size);
  MT_CHECK(!o.widths.empty(), "kim_cnn: needs at least one filter width");
  MT_CHECK(o.dropout >= 0 && o.dropout < 1, "kim_cnn: dropout must be in [0, 1), got ", o.dropout);
  Generator gen(seed);
  if (o.pretrained.defined()) {
    MT_CHECK(o.pretrained.shape() == (Shape{o.vocab_size, o.embedding_dim}),
             "kim_cnn: pretrained embeddings must be (", o.vocab_size, ", ", o.embedding_dim,
             "), got ", ShapeToString(o.pretrained.shape()));
  }
  if (o.freeze_embeddings) {
    MT_CHECK(o.pretrained.defined(), "kim_cnn: frozen embeddings need pretrained vectors");
    frozen_embeddings_ = Clone(o.pretrained.Detach());
  } else {
    embedding_ = RegisterModule("embedding",
                                std::make_shared<nn::Embedding>(o.vocab_size, o.embedding_dim, gen));
    // Kim (2014) draws random word vectors from U(-0.25, 0.25) (CNN-rand); PyTorch's N(0, 1)
    // default gives the convolutions inputs about 7x larger and measurably worse dev accuracy.
    Tensor init = o.pretrained.defined()
                      ? Contiguous(o.pretrained)
                      : RandUniform({o.vocab_size, o.embedding_dim}, -0.25, 0.25, gen);
    CopyInto(embedding_->weight(), init);
  }
  for (int64_t w : o.widths) {
    MT_CHECK(w >= 1, "kim_cnn: filter widths must be >= 1, got ", w);
    // Kim's code pads every sentence with w-1 zero vectors on both sides ("wide" convolution),
    // so a short phrase is seen through w windows, not one; most GLUE training lines are short
    // phrases.
    Conv1dOptions wide;
    wide.pad_left = wide.pad_right = w - 1;
    convs_.push_back(RegisterModule(
        "conv" + std::to_string(w),
        std::make_shared<nn::Conv1d>(o.embedding_dim, o.feature_maps, w, gen, wide)));
  }
  dropout_ = RegisterModule("dropout", std::make_shared<nn::Dropout>(o.dropout, &dropout_gen_));
  fc_ = RegisterModule("fc", std::make_shared<nn::Linear>(
                                 o.feature_maps * static_cast<int64_t>(o.widths.size()), 2, gen));
  FlattenParameters();  // after the embedding table got its values
}

int64_t Model::EstimateForwardBytes(const Shape& input_shape) const {
  // LeNet-5 on 28x28 allocates about 100 bytes per input pixel; 1 KiB leaves room.
  constexpr double kBytesPerInputElement = 1024;
  double n = 1;
  for (int64_t d : input_shape) n *= static_cast<double>(std::max<int64_t>(d, 0));
  return static_cast<int64_t>(std::min(n * kBytesPerInputElement, 9.0e18));
}

int64_t KimCnn::EstimateForwardBytes(const Shape& input_shape) const {
  if (input_shape.size() != 2) return Model::EstimateForwardBytes(input_shape);
  const double n = static_cast<double>(std::max<int64_t>(input_shape[0], 0));
  const double len = static_cast<double>(std::max<int64_t>(input_shape[1], 0));
  int64_t max_width = 1;
  for (int64_t w : options_.widths) max_width = std::max(max_width, w);
  const double e = static_cast<double>(options_.embedding_dim);
  const double maps = static_cast<double>(options_.feature_maps * options_.widths.size());
  // Per position, in floats: the embedding lookup and its masked, transposed and reshaped
  // copies (5 x E allowed), room for an im2col matrix (width x E), and for every feature map its
  // conv output, ReLU, mask and masked copy (4 each); plus the int64 ids, the double mask and
  // the pad flags (about 32 bytes). The conv pads inside its kernel and builds im2col one sample
  // per thread at a time (kernels/cpu/conv.cc), so the im2col term over-counts for any batch
  // larger than the thread count: this stays an upper estimate.
  const double per_position = 4.0 * (5.0 * e + static_cast<double>(max_width) * e + 4.0 * maps) + 32.0;
  return static_cast<int64_t>(
      std::min(n * (len + static_cast<double>(max_width)) * per_position, 9.0e18));
}

Tensor KimCnn::Forward(const Tensor& ids, Activations* a) {
  MT_CHECK(ids.dim() == 2 && ids.dtype() == DType::kInt64,
           "kim_cnn expects token ids (N, L) int64, got ", DTypeName(ids.dtype()), " ",
           ShapeToString(ids.shape()));
  const int64_t n = ids.size(0), len = ids.size(1);
  MT_CHECK(len >= 1, "kim_cnn: needs at least one token position, got length ", len);
  // Sentence lengths (ids after the last non-pad token are padding).
  std::vector<int64_t> idv = ids.ToInt64Vector();
  std::vector<int64_t> lengths(n, 0);
  std::vector<double> keep(n * len, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t t = 0; t < len; ++t) {
      if (idv[i * len + t] != 0) {
        lengths[i] = t + 1;
        keep[i * len + t] = 1.0;
      }
    }
  }
  const Tensor& table = embedding_ ? embedding_->weight() : frozen_embeddings_;
  // The batch is padded to its longest sentence (34 tokens in a typical SST-2 batch of 50,
  // against 9.4 on average), and every window that touches no real token is masked out of the
  // max below. Instead of convolving the padding, the sentences are laid end to end in one
  // sequence, each with `gap` = max_width - 1 zero positions before it (shared with its
  // neighbour) and max_width zeros after the last, and each width is one unpadded convolution
  // over it. Sentence i's wide window t (over its positions t-(w-1) .. t, zeros outside it) is
  // then the window that starts at start_i - (w-1) + t; windows past the sentence take the
  // all-zero window at the end. The outputs are the same windows, summed in the same order,
  // as convolving the padded batch, with about a third of its columns.
  int64_t max_width = 1;
  for (int64_t w : options_.widths) max_width = std::max(max_width, w);
  const int64_t gap = max_width - 1;
  std::vector<int64_t> start(n);
  int64_t seq = gap;
  for (int64_t i = 0; i < n; ++i) {
    start[i] = seq;
    seq += lengths[i] + gap;
  }
  seq += 1;  // the last sentence's gap plus one more zero: an all-zero window for every width
  std::vector<int64_t> seq_ids(seq, 0);
  std::vector<double> seq_keep(seq, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t t = 0; t < lengths[i]; ++t) {
      seq_ids[start[i] + t] = idv[i * len + t];
      seq_keep[start[i] + t] = keep[i * len + t];
    }
  }
  // Zeroing pad positions (instead of trusting row 0 to stay zero) also keeps their gradient
  // out of the table, like PyTorch's padding_idx.
  Tensor e = Mul(Embedding(table, Tensor::FromInt64(seq_ids, {1, seq})),
                 Tensor::FromVector(seq_keep, {1, seq, 1}, table.dtype()));
  if (a) {
    // What the network sees per sentence, (N, L, D), as if the batch had been embedded padded.
    std::vector<int64_t> rows(n * len, seq - 1);  // a zero position
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t t = 0; t < lengths[i]; ++t) rows[i * len + t] = start[i] + t;
    }
    Record(a, "embedding", Embedding(Reshape(e, {seq, e.size(2)}), Tensor::FromInt64(rows, {n, len})));
  }
  Tensor x = Permute(e, {0, 2, 1});  // (1, D, seq)
  std::vector<Tensor> pooled;
  for (size_t c = 0; c < convs_.size(); ++c) {
    const int64_t w = options_.widths[c];
    const Tensor& conv_w = convs_[c]->weight();
    Tensor h = Relu(mt::Conv1d(x, conv_w, convs_[c]->bias()));  // (1, maps, seq - w + 1)
    const int64_t maps = conv_w.size(0), windows = seq - w + 1;
    // Output t is the window over input positions t-(w-1) .. t. Windows that touch no real
    // token (t >= length + w - 1) are masked out of the max; since pad embeddings are zero, the
    // others equal windows over the sentence plus zero padding, whatever the batch's length.
    const int64_t lout = len + w - 1;
    std::vector<int64_t> window(n * lout, windows - 1);  // the all-zero window
    std::vector<double> mask(n * lout, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t valid = std::max<int64_t>(1, lengths[i] + w - 1);
      for (int64_t t = 0; t < lout; ++t) {
        if (t < valid) {
          window[i * lout + t] = start[i] - (w - 1) + t;
        } else {
          mask[i * lout + t] = -1e30;
        }
      }
    }
    // Gather each sentence's windows as rows: (windows, maps) -> (N, lout, maps).
    Tensor per_window = Contiguous(Transpose(Reshape(h, {maps, windows}), 0, 1));
    Tensor g = Embedding(per_window, Tensor::FromInt64(window, {n, lout}));
    if (a) Record(a, ("conv" + std::to_string(w)).c_str(), Permute(g, {0, 2, 1}));
    g = Add(g, Tensor::FromVector(mask, {n, lout, 1}, g.dtype()));
    pooled.push_back(Max(g, 1, /*keepdim=*/false));  // (N, maps)
  }
  Tensor features = Cat(pooled, 1);
  Record(a, "features", features);
  Tensor logits = fc_->Forward(dropout_->Forward(features));
  Record(a, "logits", logits);
  return LogSoftmax(logits, 1);
}

}  // namespace mt::models
