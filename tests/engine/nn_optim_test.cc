// Modules (names, init, modes) and optimisers (PyTorch's update rules, state round trip).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/nn.h"
#include "engine/optim.h"

namespace mt {
namespace {

class TinyNet : public nn::Module {
 public:
  explicit TinyNet(Generator& gen, DType dtype = DType::kFloat32) : dropout_gen_(7) {
    conv1 = RegisterModule("conv1", std::make_shared<nn::Conv2d>(1, 2, 3, 3, gen,
                                                                 Conv2dOptions{}, true, dtype));
    fc = RegisterModule("fc", std::make_shared<nn::Linear>(2 * 2 * 2, 3, gen, true, dtype));
    drop = RegisterModule("drop", std::make_shared<nn::Dropout>(0.5, &dropout_gen_));
  }
  Tensor Forward(const Tensor& x) {
    Tensor h = Relu(conv1->Forward(x));               // (N, 2, 4, 4)
    h = Flatten(nn::MaxPool2d(2, 2).Forward(h), 1);  // (N, 8)
    return LogSoftmax(fc->Forward(drop->Forward(h)), 1);
  }
  Generator dropout_gen_;
  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::Linear> fc;
  std::shared_ptr<nn::Dropout> drop;
};

TEST(Module, DottedNamesInRegistrationOrder) {
  Generator gen(0);
  TinyNet net(gen);
  std::vector<std::string> names;
  for (auto& [name, t] : net.NamedParameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv1.weight", "conv1.bias", "fc.weight", "fc.bias"}));
  EXPECT_EQ(net.NumParameters(), 2 * 9 + 2 + 8 * 3 + 3);
  for (const Tensor& p : net.Parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(Module, PyTorchDefaultInitBoundsAndSeeding) {
  Generator g1(42), g2(42), g3(43);
  nn::Linear a(100, 50, g1), b(100, 50, g2), c(100, 50, g3);
  EXPECT_EQ(a.weight().ToVector(), b.weight().ToVector());
  EXPECT_NE(a.weight().ToVector(), c.weight().ToVector());
  double bound = 1.0 / std::sqrt(100.0), mx = 0;
  for (double v : a.weight().ToVector()) mx = std::max(mx, std::fabs(v));
  EXPECT_LE(mx, bound);
  EXPECT_GT(mx, 0.9 * bound);  // actually spans the range
  nn::Conv2d conv(3, 4, 5, 5, g1);
  for (double v : conv.weight().ToVector()) EXPECT_LE(std::fabs(v), 1.0 / std::sqrt(75.0));
}

TEST(Module, TrainEvalPropagatesAndControlsDropout) {
  Generator gen(1);
  TinyNet net(gen);
  Tensor x = RandUniform({4, 1, 6, 6}, -1, 1, gen);
  net.Eval();
  EXPECT_FALSE(net.drop->is_training());
  EXPECT_EQ(net.Forward(x).ToVector(), net.Forward(x).ToVector());  // deterministic in eval
  net.Train();
  EXPECT_TRUE(net.fc->is_training());
  EXPECT_NE(net.Forward(x).ToVector(), net.Forward(x).ToVector());  // masks differ
}

TEST(Module, LinearMatchesHandComputation) {
  Generator gen(0);
  nn::Linear fc(2, 1, gen);
  // Overwrite the parameters through the shared storage: y = 2*x0 - x1 + 0.5
  fc.weight().data<float>()[0] = 2;
  fc.weight().data<float>()[1] = -1;
  fc.bias().data<float>()[0] = 0.5;
  EXPECT_EQ(fc.Forward(Tensor::FromVector({3, 4, 1, 1}, {2, 2})).ToVector(),
            (std::vector<double>{2.5, 1.5}));
}

TEST(Sgd, MomentumAndWeightDecayMatchPyTorch) {
  Tensor p = Tensor::FromVector({1.0}, {1}, DType::kFloat64);
  p.set_requires_grad(true);
  optim::Sgd sgd({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});
  // Constant gradient 1: g = 1 + 0.01 p; buf1 = g1; buf2 = 0.9 buf1 + g2.
  double pv = 1.0, buf = 0.0;
  for (int step = 0; step < 3; ++step) {
    p.ZeroGrad();
    Sum(p).Backward();
    sgd.Step();
    double g = 1.0 + 0.01 * pv;
    buf = step == 0 ? g : 0.9 * buf + g;
    pv -= 0.1 * buf;
    EXPECT_NEAR(p.item(), pv, 1e-12) << "step " << step;
  }
}

TEST(Adam, MatchesPyTorchUpdateRule) {
  Tensor p = Tensor::FromVector({0.5, -1.0}, {2}, DType::kFloat64);
  p.set_requires_grad(true);
  optim::Adam adam({p}, {.lr = 0.01});
  double m[2] = {0, 0}, v[2] = {0, 0}, x[2] = {0.5, -1.0};
  for (int t = 1; t <= 3; ++t) {
    p.ZeroGrad();
    Sum(Mul(p, p)).Backward();  // grad = 2p
    adam.Step();
    for (int i = 0; i < 2; ++i) {
      double g = 2 * x[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      double mh = m[i] / (1 - std::pow(0.9, t)), vh = v[i] / (1 - std::pow(0.999, t));
      x[i] -= 0.01 * mh / (std::sqrt(vh) + 1e-8);
      EXPECT_NEAR(p.ToVector()[i], x[i], 1e-12);
    }
  }
}

TEST(Optimizer, StateRoundTripGivesIdenticalUpdates) {
  auto make = [] {
    Tensor p = Tensor::FromVector({0.3, -0.7, 1.1}, {3}, DType::kFloat64);
    p.set_requires_grad(true);
    return p;
  };
  Tensor a = make(), b = make();
  optim::Adam oa({a}, {.lr = 0.05}), ob({b}, {.lr = 0.05});
  for (int i = 0; i < 2; ++i) {
    a.ZeroGrad();
    Sum(Exp(a)).Backward();
    oa.Step();
  }
  // Copy a's parameters and state into b, then both take the same step.
  std::memcpy(b.data<double>(), a.data<double>(), 3 * sizeof(double));
  ASSERT_TRUE(ob.LoadState(oa.steps(), oa.StateTensors()).ok());
  for (Tensor* t : {&a, &b}) {
    t->ZeroGrad();
    Sum(Exp(*t)).Backward();
  }
  oa.Step();
  ob.Step();
  EXPECT_EQ(a.ToVector(), b.ToVector());
  EXPECT_FALSE(ob.LoadState(1, {{"9.exp_avg", Tensor::Zeros({3}, DType::kFloat64)}}).ok());
  EXPECT_FALSE(ob.LoadState(1, {{"0.exp_avg", Tensor::Zeros({4}, DType::kFloat64)}}).ok());
}

// A clone of an optimiser part-way through training, over a copy of the parameters, makes the
// same updates bit for bit, and from then on each steps only its own parameters.
TEST(Optimizer, CloneForCopiesTheStateAndStepsItsOwnParameters) {
  auto make = [](std::vector<double> v) {
    Tensor p = Tensor::FromVector(v, {static_cast<int64_t>(v.size())}, DType::kFloat64);
    p.set_requires_grad(true);
    return p;
  };
  const auto step = [](optim::Optimizer& o, Tensor& p) {
    p.ZeroGrad();
    Sum(Exp(p) * p).Backward();
    o.Step();
  };
  for (int kind = 0; kind < 2; ++kind) {
    SCOPED_TRACE(kind == 0 ? "sgd" : "adam");
    Tensor a = make({0.3, -0.7, 1.1, 0.05});
    std::unique_ptr<optim::Optimizer> oa;
    if (kind == 0) {
      oa = std::make_unique<optim::Sgd>(std::vector<Tensor>{a},
                                        optim::SgdOptions{.lr = 0.1, .momentum = 0.9});
    } else {
      oa = std::make_unique<optim::Adam>(std::vector<Tensor>{a}, optim::AdamOptions{.lr = 0.05});
    }
    step(*oa, a);
    step(*oa, a);
    oa->set_lr(oa->lr() / 2);
    Tensor b = make(a.ToVector());
    const std::unique_ptr<optim::Optimizer> ob = oa->CloneFor({b});
    EXPECT_EQ(ob->steps(), 2);
    EXPECT_EQ(ob->lr(), oa->lr());
    for (int i = 0; i < 3; ++i) {
      step(*oa, a);
      step(*ob, b);
      ASSERT_EQ(a.ToVector(), b.ToVector()) << "after step " << i;
    }
    EXPECT_NE(a.ToVector()[0], 0.3);  // the steps moved the parameters
    // The state is a copy: stepping one leaves the other's alone.
    const std::vector<double> before = b.ToVector();
    step(*oa, a);
    EXPECT_EQ(b.ToVector(), before);
    EXPECT_NE(a.ToVector(), before);
    // Parameters of other shapes are refused, saying which.
    try {
      oa->CloneFor({make({1.0, 2.0})});
      FAIL() << "a clone over a parameter of another shape was made";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("parameter 0"), std::string::npos) << e.what();
    }
  }
}

// A flat module made a replica and then unshared holds the source's values, in storage of its
// own: later changes on either side stay on that side.
TEST(Module, UnshareParametersCopiesTheSourcesValues) {
  Generator g1(3), g2(4);
  TinyNet source(g1), replica(g2);
  source.FlattenParameters();
  replica.FlattenParameters();
  replica.ShareParametersWith(source);
  ASSERT_TRUE(replica.SharesParametersWith(source));
  replica.UnshareParameters();
  EXPECT_FALSE(replica.SharesParametersWith(source));
  const std::vector<double> values = source.FlatParameters().ToVector();
  EXPECT_EQ(replica.FlatParameters().ToVector(), values);
  // Every parameter views the new buffer: a change through a parameter shows in the buffer.
  const std::vector<Tensor> params = replica.Parameters();
  params[0].data<float>()[0] += 1.0f;
  EXPECT_EQ(replica.FlatParameters().ToVector()[0], static_cast<float>(values[0]) + 1.0f);
  EXPECT_EQ(source.FlatParameters().ToVector(), values);
  source.Parameters()[1].data<float>()[0] = 5.0f;
  EXPECT_NE(replica.Parameters()[1].ToVector()[0], 5.0);
}

TEST(Training, TinyNetworkLearnsAFixedBatch) {
  Generator gen(3);
  TinyNet net(gen);
  Tensor x = RandUniform({8, 1, 6, 6}, -1, 1, gen);
  Tensor y = Tensor::FromInt64({0, 1, 2, 0, 1, 2, 0, 1}, {8});
  net.Eval();
  optim::Sgd sgd(net.Parameters(), {.lr = 0.5, .momentum = 0.9});
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    sgd.ZeroGrad();
    Tensor loss = NllLoss(net.Forward(x), y);
    if (step == 0) first = loss.item();
    last = loss.item();
    loss.Backward();
    sgd.Step();
  }
  EXPECT_LT(last, first * 0.2) << "first " << first << " last " << last;
}

}  // namespace
}  // namespace mt
