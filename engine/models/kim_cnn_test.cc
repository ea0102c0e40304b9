// Kim CNN convolves its sentences laid end to end (no columns for the batch's padding). Its
// log-probabilities, recorded feature maps and parameter gradients must match the textbook
// computation written here from the same parameters: embed the padded batch, convolve it wide,
// mask windows that touch no token, max over time, linear, log-softmax.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "engine/autograd.h"
#include "engine/models/models.h"
#include "engine/ops.h"

namespace mt {
namespace {

struct Reference {
  Tensor log_probs;
  std::map<std::string, Tensor> maps;  // "embedding", "conv<w>": as the model records them
};

Reference PaddedForward(const nn::NamedTensors& params, const models::KimCnnOptions& o,
                        const std::vector<int64_t>& ids, int64_t n, int64_t len) {
  std::map<std::string, Tensor> p(params.begin(), params.end());
  std::vector<int64_t> lengths(n, 0);
  std::vector<double> keep(n * len, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t t = 0; t < len; ++t) {
      if (ids[i * len + t] != 0) {
        lengths[i] = t + 1;
        keep[i * len + t] = 1.0;
      }
    }
  }
  const Tensor& table = p.at("embedding.weight");
  Reference r;
  Tensor e = Mul(Embedding(table, Tensor::FromInt64(ids, {n, len})),
                 Tensor::FromVector(keep, {n, len, 1}, table.dtype()));
  r.maps["embedding"] = e;
  Tensor x = Permute(e, {0, 2, 1});
  std::vector<Tensor> pooled;
  for (int64_t w : o.widths) {
    const std::string name = "conv" + std::to_string(w);
    Conv1dOptions wide;
    wide.pad_left = wide.pad_right = w - 1;
    Tensor h = Relu(Conv1d(x, p.at(name + ".weight"), p.at(name + ".bias"), wide));
    r.maps[name] = h;
    const int64_t lout = len + w - 1;
    std::vector<double> mask(n * lout, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t t = std::max<int64_t>(1, lengths[i] + w - 1); t < lout; ++t) {
        mask[i * lout + t] = -1e30;
      }
    }
    pooled.push_back(Max(Add(h, Tensor::FromVector(mask, {n, 1, lout}, h.dtype())), 2, false));
  }
  Tensor features = Cat(pooled, 1);
  Tensor logits = Add(Matmul(features, Transpose(p.at("fc.weight"), 0, 1)), p.at("fc.bias"));
  r.log_probs = LogSoftmax(logits, 1);
  return r;
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want, double tol,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << what << " [" << i << "]";
  }
}

void CheckAgainstPadded(const models::KimCnnOptions& o, const std::vector<int64_t>& ids, int64_t n,
                        int64_t len) {
  models::KimCnn net(o, 11);
  net.Eval();  // no dropout: both sides must see the same features
  const Tensor target = [&] {
    std::vector<int64_t> t(n);
    for (int64_t i = 0; i < n; ++i) t[i] = i % 2;
    return Tensor::FromInt64(t, {n});
  }();

  net.ZeroGrad();
  models::Activations maps;
  Tensor out = net.Forward(Tensor::FromInt64(ids, {n, len}), &maps);
  NllLoss(out, target).Backward();
  nn::NamedTensors params = net.NamedParameters();
  std::vector<std::vector<double>> grads;
  for (auto& [name, t] : params) grads.push_back(t.grad().ToVector());

  net.ZeroGrad();
  Reference ref = PaddedForward(params, o, ids, n, len);
  NllLoss(ref.log_probs, target).Backward();

  ExpectNear(out.ToVector(), ref.log_probs.ToVector(), 1e-6, "log_probs");
  std::map<std::string, Tensor> recorded(maps.begin(), maps.end());
  for (auto& [name, want] : ref.maps) {
    ASSERT_TRUE(recorded.count(name)) << name;
    EXPECT_EQ(recorded[name].shape(), want.shape()) << name;
    ExpectNear(recorded[name].ToVector(), want.ToVector(), 1e-6, name);
  }
  for (size_t i = 0; i < params.size(); ++i) {
    ExpectNear(grads[i], params[i].second.grad().ToVector(), 1e-5, params[i].first + " grad");
  }
  // The gradients are not all zero (the comparison would then prove little).
  double norm = 0;
  for (const auto& g : grads) {
    for (double v : g) norm += v * v;
  }
  EXPECT_GT(norm, 1e-6);
}

TEST(KimCnn, SentencesEndToEndMatchThePaddedBatch) {
  models::KimCnnOptions o;
  o.vocab_size = 40;
  o.embedding_dim = 6;
  o.feature_maps = 5;
  o.widths = {2, 3, 5};
  // Lengths 7 (full), 1, 0 (all padding), 4 with an interior pad id, 3 with trailing pads.
  const int64_t n = 5, len = 7;
  const std::vector<int64_t> ids = {3,  9, 17, 21, 39, 5, 8,  //
                                    12, 0, 0,  0,  0,  0, 0,  //
                                    0,  0, 0,  0,  0,  0, 0,  //
                                    4,  0, 6,  30, 0,  0, 0,  //
                                    7,  7, 1,  0,  0,  0, 0};
  CheckAgainstPadded(o, ids, n, len);
}

TEST(KimCnn, FullSizeLayersMatchThePaddedBatch) {
  models::KimCnnOptions o;  // 128-d embeddings, 100 maps per width 3, 4, 5
  o.vocab_size = 500;
  const int64_t n = 12, len = 30;
  std::vector<int64_t> ids(n * len, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t length = i == 0 ? len : 1 + (i * 7) % 20;
    for (int64_t t = 0; t < length; ++t) ids[i * len + t] = 1 + (i * 131 + t * 17) % 499;
  }
  CheckAgainstPadded(o, ids, n, len);
}

}  // namespace
}  // namespace mt
