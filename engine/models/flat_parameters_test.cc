// Flat parameters: after FlattenParameters every parameter is a view into one buffer, values and
// training results are unchanged, gradients flow, and GatherGradients gives one gradient buffer
// whose changes the optimiser sees.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/autograd.h"
#include "engine/models/models.h"
#include "engine/nn.h"
#include "engine/optim.h"

namespace mt {
namespace {

// Two layers whose sizes (and so padding) are not multiples of 16 floats.
class TwoLayers : public nn::Module {
 public:
  explicit TwoLayers(uint64_t seed) {
    Generator gen(seed);
    fc1_ = RegisterModule("fc1", std::make_shared<nn::Linear>(5, 3, gen));
    fc2_ = RegisterModule("fc2", std::make_shared<nn::Linear>(3, 2, gen));
  }
  Tensor Forward(const Tensor& x) { return fc2_->Forward(Relu(fc1_->Forward(x))); }

 private:
  std::shared_ptr<nn::Linear> fc1_, fc2_;
};

Tensor Input() {
  std::vector<double> v;
  for (int i = 0; i < 4 * 5; ++i) v.push_back(0.1 * i - 0.7);
  return Tensor::FromVector(v, {4, 5});
}

TEST(FlatParameters, ViewsIntoOneAlignedBufferWithValuesUnchanged) {
  TwoLayers flat(3), plain(3);
  EXPECT_FALSE(flat.is_flat());
  flat.FlattenParameters();
  EXPECT_TRUE(flat.is_flat());
  Tensor buffer = flat.FlatParameters();
  ASSERT_TRUE(buffer.defined());
  EXPECT_FALSE(flat.FlatParameters(DType::kFloat64).defined());
  nn::NamedTensors a = flat.NamedParameters(), b = plain.NamedParameters();
  ASSERT_EQ(a.size(), 4u);
  // fc1.weight 15 floats at 0, fc1.bias 3 at 16, fc2.weight 6 at 32, fc2.bias 2 at 48: each at
  // a 64-byte boundary, in registration order.
  const std::vector<int64_t> offsets = {0, 16, 32, 48};
  EXPECT_EQ(buffer.shape(), (Shape{50}));
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.impl()->storage, buffer.impl()->storage) << a[i].first;
    EXPECT_EQ(a[i].second.offset(), offsets[i]) << a[i].first;
    EXPECT_TRUE(a[i].second.is_contiguous());
    EXPECT_TRUE(a[i].second.requires_grad());
    EXPECT_EQ(a[i].second.ToVector(), b[i].second.ToVector()) << a[i].first;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a[i].second.raw_data()) % 64, 0u);
  }
  // Padding is zero; the buffer holds the values.
  std::vector<double> all = buffer.ToVector();
  const std::vector<int64_t> sizes = {15, 3, 6, 2};
  for (int64_t i = 0; i < 50; ++i) {
    bool in_param = false;
    for (size_t k = 0; k < offsets.size(); ++k) {
      in_param |= i >= offsets[k] && i < offsets[k] + sizes[k];
    }
    if (!in_param) {
      EXPECT_EQ(all[i], 0.0) << "padding at " << i;
    }
  }
  EXPECT_EQ(all[16], b[1].second.ToVector()[0]);
  // Writing through the buffer is writing the parameter.
  buffer.data<float>()[32] = 7.0f;
  EXPECT_EQ(a[2].second.ToVector()[0], 7.0);
  EXPECT_THROW(flat.FlattenParameters(), Error);
}

TEST(FlatParameters, ModelsAreFlatAfterConstructionWithTheSameInitialisation) {
  models::Lenet5 net(1);
  EXPECT_TRUE(net.is_flat());
  int64_t total = 0;
  for (auto& [name, p] : net.NamedParameters()) {
    EXPECT_EQ(p.impl()->storage, net.FlatParameters().impl()->storage) << name;
    total += p.numel();
  }
  EXPECT_EQ(total, 61706);
  EXPECT_GE(net.FlatParameters().numel(), total);
  // The first weights are the seed's first uniform draws, as without flattening: conv1 is
  // (6, 1, 5, 5) with bound 1/sqrt(25).
  Generator gen(1);
  Tensor first = RandUniform({6, 1, 5, 5}, -0.2, 0.2, gen);
  EXPECT_EQ(net.NamedParameters()[0].second.ToVector(), first.ToVector());
  models::KimCnnOptions o;
  o.vocab_size = 10;
  o.embedding_dim = 4;
  o.feature_maps = 2;
  models::KimCnn kim(o, 2);
  EXPECT_TRUE(kim.is_flat());
  // The embedding table's U(-0.25, 0.25) values were copied in before flattening.
  Generator g2(2);
  RandNormal({10, 4}, 0.0, 1.0, g2);  // nn::Embedding's own init, then overwritten
  EXPECT_EQ(kim.NamedParameters()[0].second.ToVector(),
            RandUniform({10, 4}, -0.25, 0.25, g2).ToVector());
}

TEST(FlatParameters, GradientsFlowAndStepsMatchUnflattened) {
  for (const char* optimizer : {"sgd", "adam"}) {
    TwoLayers flat(5), plain(5);
    flat.FlattenParameters();
    std::unique_ptr<optim::Optimizer> of, op;
    if (std::string(optimizer) == "sgd") {
      of = std::make_unique<optim::Sgd>(flat.Parameters(), optim::SgdOptions{0.1, 0.9, 0.01});
      op = std::make_unique<optim::Sgd>(plain.Parameters(), optim::SgdOptions{0.1, 0.9, 0.01});
    } else {
      of = std::make_unique<optim::Adam>(flat.Parameters(), optim::AdamOptions{.lr = 0.01});
      op = std::make_unique<optim::Adam>(plain.Parameters(), optim::AdamOptions{.lr = 0.01});
    }
    for (int step = 0; step < 3; ++step) {
      of->ZeroGrad();
      op->ZeroGrad();
      Sum(flat.Forward(Input())).Backward();
      Sum(plain.Forward(Input())).Backward();
      auto a = flat.NamedParameters(), b = plain.NamedParameters();
      for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_TRUE(a[i].second.grad().defined()) << a[i].first;
        EXPECT_EQ(a[i].second.grad().ToVector(), b[i].second.grad().ToVector()) << a[i].first;
      }
      of->Step();
      op->Step();
    }
    auto a = flat.NamedParameters(), b = plain.NamedParameters();
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].second.ToVector(), b[i].second.ToVector()) << optimizer << " " << a[i].first;
      // Still views of the buffer after the optimiser wrote to them.
      EXPECT_EQ(a[i].second.impl()->storage, flat.FlatParameters().impl()->storage);
    }
  }
}

TEST(FlatParameters, GatheredGradientsAreOneBufferTheOptimiserSees) {
  TwoLayers flat(8), plain(8);
  EXPECT_THROW(plain.GatherGradients(), Error);
  flat.FlattenParameters();
  Sum(flat.Forward(Input())).Backward();
  Sum(plain.Forward(Input())).Backward();
  Tensor g = flat.GatherGradients();
  ASSERT_TRUE(g.defined());
  EXPECT_EQ(g.shape(), flat.FlatParameters().shape());
  auto a = flat.NamedParameters(), b = plain.NamedParameters();
  std::vector<double> gv = g.ToVector();
  const std::vector<int64_t> offsets = {0, 16, 32, 48};
  for (size_t i = 0; i < a.size(); ++i) {
    std::vector<double> want = b[i].second.grad().ToVector();
    for (size_t k = 0; k < want.size(); ++k) EXPECT_EQ(gv[offsets[i] + k], want[k]);
    EXPECT_EQ(a[i].second.grad().impl()->storage, g.impl()->storage);
    EXPECT_EQ(a[i].second.grad().ToVector(), want);
  }
  // "All-reduce" of two identical ranks: sum, then divide by 2 — halve to keep it visible.
  for (int64_t k = 0; k < g.numel(); ++k) g.data<float>()[k] *= 0.5f;
  EXPECT_EQ(flat.GatherGradients().data<float>(), g.data<float>());  // same buffer again
  optim::Sgd sf(flat.Parameters(), optim::SgdOptions{.lr = 1.0});
  optim::Sgd sp(plain.Parameters(), optim::SgdOptions{.lr = 0.5});  // same as half the gradient
  sf.Step();
  sp.Step();
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].second.ToVector(), b[i].second.ToVector()) << a[i].first;
  }
}

TEST(FlatParameters, BackwardAccumulatesInPlaceIntoTheFlatGradientBuffer) {
  TwoLayers flat(5), plain(5);
  flat.FlattenParameters();
  auto a = flat.NamedParameters(), b = plain.NamedParameters();
  Sum(flat.Forward(Input())).Backward();
  // No gather needed: each gradient already is a view of one buffer, at its parameter's offset.
  const Tensor grads = a[0].second.grad();
  for (auto& [name, p] : a) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_EQ(p.grad().impl()->storage, grads.impl()->storage) << name;
    EXPECT_EQ(p.grad().offset(), p.offset()) << name;
  }
  EXPECT_EQ(flat.GatherGradients().impl()->storage, grads.impl()->storage);
  // A second backward without ZeroGrad adds in place, exactly as the unflattened twin adds.
  Sum(flat.Forward(Input())).Backward();
  Sum(plain.Forward(Input())).Backward();
  Sum(plain.Forward(Input())).Backward();
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].second.grad().impl()->storage, grads.impl()->storage) << a[i].first;
    EXPECT_EQ(a[i].second.grad().ToVector(), b[i].second.grad().ToVector()) << a[i].first;
  }
  // After ZeroGrad, a step in which fc2.bias gets no gradient: gathering zeroes its stale slot.
  for (auto& [name, p] : a) p.ZeroGrad();
  Sum(Relu(a[0].second)).Backward();  // only fc1.weight
  EXPECT_FALSE(a[3].second.grad().defined());
  Tensor g = flat.GatherGradients();
  EXPECT_EQ(a[3].second.grad().ToVector(), (std::vector<double>{0, 0}));
  EXPECT_EQ(g.ToVector()[48], 0.0);
  EXPECT_EQ(g.ToVector()[49], 0.0);
}

}  // namespace
}  // namespace mt
