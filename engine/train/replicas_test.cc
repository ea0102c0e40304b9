// A step split over replicas gives the whole batch's loss, correct count and gradient (to float
// rounding; exactly where the arithmetic is exact), the same bits however many threads ran the
// pieces, replicas read the model's current weights, and errors in a piece reach the caller.
#include "engine/train/replicas.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/host_device_testing.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/threads.h"

namespace mt::train {
namespace {

Batch Images(int64_t n, uint64_t seed) {
  Generator gen(seed);
  Batch b;
  b.input = RandUniform({n, 1, 28, 28}, 0.0, 1.0, gen);
  std::vector<int64_t> target(n);
  for (int64_t i = 0; i < n; ++i) target[i] = static_cast<int64_t>(gen.Below(10));
  b.target = Tensor::FromInt64(target, {n});
  return b;
}

Batch Sentences(int64_t n, int64_t length, int64_t vocab, uint64_t seed) {
  Generator gen(seed);
  std::vector<int64_t> ids(n * length), target(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t words = 1 + static_cast<int64_t>(gen.Below(length));  // then padding (id 0)
    for (int64_t j = 0; j < words; ++j) ids[i * length + j] = 1 + gen.Below(vocab - 1);
    target[i] = static_cast<int64_t>(gen.Below(2));
  }
  return {Tensor::FromInt64(ids, {n, length}), Tensor::FromInt64(target, {n})};
}

struct Plain {
  double loss;
  int64_t correct;
  std::vector<double> grad;
};

// The whole batch through the model at once, on one thread: the reference.
Plain OnePiece(models::Model* model, const Batch& b) {
  ScopedThreads one(1);
  model->ZeroGrad();
  Tensor log_probs = model->Forward(b.input);
  Tensor loss = NllLoss(log_probs, b.target);
  loss.Backward();
  NoGradGuard no_grad;
  std::vector<int64_t> pred = Argmax(log_probs, 1).ToInt64Vector();
  std::vector<int64_t> want = b.target.ToInt64Vector();
  int64_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == want[i];
  return {loss.item(), correct, model->GatherGradients().ToVector()};
}

Plain Split(models::Model* model, Replicas* r, const Batch& b, int threads) {
  model->ZeroGrad();
  const Replicas::Result res = r->ForwardBackward(b, threads);
  return {res.loss, res.correct, model->GatherGradients().ToVector()};
}

void ExpectClose(const Plain& got, const Plain& want) {
  EXPECT_NEAR(got.loss, want.loss, 1e-6 * std::abs(want.loss) + 1e-7);
  EXPECT_EQ(got.correct, want.correct);
  ASSERT_EQ(got.grad.size(), want.grad.size());
  double scale = 0;
  for (double g : want.grad) scale = std::max(scale, std::abs(g));
  ASSERT_GT(scale, 0);
  int nonzero = 0;
  for (size_t i = 0; i < want.grad.size(); ++i) {
    ASSERT_NEAR(got.grad[i], want.grad[i], 2e-5 * scale) << "flat gradient element " << i;
    nonzero += want.grad[i] != 0;
  }
  EXPECT_GT(nonzero, static_cast<int>(want.grad.size() / 4));  // not a vacuous comparison
}

TEST(Replicas, LenetTwoPiecesGiveTheWholeBatchsGradient) {
  models::Lenet5 a(3), b(3);
  const Batch batch = Images(16, 11);
  const Plain want = OnePiece(&a, batch);
  Replicas r(&b, 2);
  ExpectClose(Split(&b, &r, batch, 2), want);
}

TEST(Replicas, UnevenPiecesAreWeightedByTheirSize) {
  // 7 examples in 3 pieces of 3, 2 and 2: each piece's mean loss counts n_r / n.
  models::MinitorchMnist a(5), b(5);
  a.Eval();  // no dropout, so both sides compute the same function
  b.Eval();
  const Batch batch = Images(7, 12);
  const Plain want = OnePiece(&a, batch);
  Replicas r(&b, 3);
  ExpectClose(Split(&b, &r, batch, 3), want);
}

TEST(Replicas, KimCnnPiecesMatchWithPaddingAndEmbeddings) {
  models::KimCnnOptions o;
  o.vocab_size = 50;
  o.embedding_dim = 8;
  o.feature_maps = 4;
  models::KimCnn a(o, 9), b(o, 9);
  a.Eval();
  b.Eval();
  const Batch batch = Sentences(10, 7, 50, 13);
  const Plain want = OnePiece(&a, batch);
  Replicas r(&b, 2);
  ExpectClose(Split(&b, &r, batch, 2), want);
}

TEST(Replicas, SameBitsWhateverTheThreadsThatRunThePieces) {
  models::Lenet5 m(4);
  Replicas r(&m, 2);
  const Batch batch = Images(12, 14);
  const Plain two = Split(&m, &r, batch, 2);
  const Plain one = Split(&m, &r, batch, 1);  // both pieces on the calling thread
  EXPECT_EQ(one.loss, two.loss);
  EXPECT_EQ(one.correct, two.correct);
  EXPECT_EQ(one.grad, two.grad);
}

TEST(Replicas, DropoutMasksFollowTheModelsGenerator) {
  // Training mode: piece 1's masks come from a seed drawn from the model's generator, so the
  // same generator state gives the same step, and the state moves on.
  models::MinitorchMnist m(6);
  Replicas r(&m, 2);
  const Batch batch = Images(8, 15);
  const std::string state = m.dropout_generator().State();
  const Plain first = Split(&m, &r, batch, 2);
  EXPECT_NE(m.dropout_generator().State(), state);
  ASSERT_TRUE(m.dropout_generator().SetState(state).ok());
  const Plain again = Split(&m, &r, batch, 2);
  EXPECT_EQ(first.loss, again.loss);
  EXPECT_EQ(first.grad, again.grad);
}

TEST(Replicas, ReplicasSeeEveryOptimiserStep) {
  models::Lenet5 a(8), b(8);
  optim::Sgd sa(a.Parameters(), {.lr = 0.1, .momentum = 0.9});
  optim::Sgd sb(b.Parameters(), {.lr = 0.1, .momentum = 0.9});
  Replicas r(&b, 2);
  for (int step = 0; step < 3; ++step) {
    const Batch batch = Images(8, 20 + step);
    OnePiece(&a, batch);
    sa.Step();
    Split(&b, &r, batch, 2);
    sb.Step();
  }
  const std::vector<double> wa = a.FlatParameters().ToVector(), wb = b.FlatParameters().ToVector();
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) ASSERT_NEAR(wa[i], wb[i], 1e-5) << i;
  // The next step's gradient depends on the stepped weights in every piece.
  const Batch next = Images(8, 30);
  ExpectClose(Split(&b, &r, next, 2), OnePiece(&a, next));
}

// Everything a step leaves behind, exactly: the weights, the optimiser's state, the gradient.
struct After {
  double loss;
  std::vector<double> weights, grad;
  std::vector<std::vector<double>> state;
};

After Snapshot(models::Model* m, const optim::Optimizer& o, double loss) {
  After a{loss, m->FlatParameters().ToVector(), m->GatherGradients().ToVector(), {}};
  for (const auto& [name, t] : o.StateTensors()) a.state.push_back(t.ToVector());
  return a;
}

void ExpectSame(const After& got, const After& want, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(got.loss, want.loss);
  EXPECT_EQ(got.weights, want.weights);
  EXPECT_EQ(got.grad, want.grad);
  EXPECT_EQ(got.state, want.state);
}

// One side of a comparison: a model, its replicas and its optimiser.
struct Side {
  models::Model* model;
  Replicas* replicas;
  optim::Optimizer* optimizer;
};

// The same batch through `plain` (ForwardBackward, then the optimiser's Step) and through
// `fused` (ForwardBackwardStep on `threads`): fused must end with plain's bits.
void StepBoth(const Side& plain, const Side& fused, const Batch& batch, int threads,
              const std::string& where) {
  plain.optimizer->ZeroGrad();
  const double want = plain.replicas->ForwardBackward(batch, 2).loss;
  plain.optimizer->Step();
  fused.optimizer->ZeroGrad();
  const double got = fused.replicas->ForwardBackwardStep(batch, threads, fused.optimizer).loss;
  ExpectSame(Snapshot(fused.model, *fused.optimizer, got),
             Snapshot(plain.model, *plain.optimizer, want), where);
}

// ForwardBackwardStep keeps a copy of the weights per replica and steps each copy: the model
// ends every step with the bits that ForwardBackward then Step give, step after step (so the
// copies stayed equal to the model's: piece 1's gradient comes from its copy), for SGD with
// momentum and for Adam, with dropout.
TEST(Replicas, ForwardBackwardStepIsForwardBackwardThenStepBitForBit) {
  for (int kind = 0; kind < 2; ++kind) {
    SCOPED_TRACE(kind == 0 ? "lenet5, sgd" : "minitorch, adam");
    std::unique_ptr<models::Model> a, b;
    std::unique_ptr<optim::Optimizer> oa, ob;
    if (kind == 0) {
      a = std::make_unique<models::Lenet5>(5);
      b = std::make_unique<models::Lenet5>(5);
      oa = std::make_unique<optim::Sgd>(a->Parameters(), optim::SgdOptions{.lr = 0.1, .momentum = 0.9});
      ob = std::make_unique<optim::Sgd>(b->Parameters(), optim::SgdOptions{.lr = 0.1, .momentum = 0.9});
    } else {
      a = std::make_unique<models::MinitorchMnist>(5);
      b = std::make_unique<models::MinitorchMnist>(5);
      oa = std::make_unique<optim::Adam>(a->Parameters(), optim::AdamOptions{.lr = 0.01});
      ob = std::make_unique<optim::Adam>(b->Parameters(), optim::AdamOptions{.lr = 0.01});
    }
    Replicas ra(a.get(), 2), rb(b.get(), 2);
    const std::vector<double> initial = a->FlatParameters().ToVector();
    for (int step = 0; step < 4; ++step) {
      const Batch batch = Images(9, 40 + step);  // uneven pieces: 5 and 4
      StepBoth({a.get(), &ra, oa.get()}, {b.get(), &rb, ob.get()}, batch, 2,
               "step " + std::to_string(step));
      EXPECT_TRUE(rb.holds_copies()) << "the step did not go through the replicas' copies";
      EXPECT_FALSE(ra.holds_copies());
    }
    EXPECT_NE(a->FlatParameters().ToVector(), initial);  // the steps moved the weights
  }
}

// The copies are made again whenever the model or the optimiser may have changed without the
// replicas: a step taken outside, a Forward (which views the model's weights), another
// optimiser, one thread (the plain path), weights written by hand followed by a state load.
TEST(Replicas, CopiesFollowWhatChangedOutside) {
  models::Lenet5 a(6), b(6);
  optim::Sgd oa(a.Parameters(), {.lr = 0.05, .momentum = 0.5});
  optim::Sgd ob(b.Parameters(), {.lr = 0.05, .momentum = 0.5});
  Replicas ra(&a, 2), rb(&b, 2);
  int step = 0;
  const auto both = [&](const std::string& what, int threads = 2) {
    StepBoth({&a, &ra, &oa}, {&b, &rb, &ob}, Images(8, 60 + step++), threads, what);
  };
  both("first");
  both("second");
  // A step outside the replicas (on a gradient of a one-piece pass).
  const Batch extra = Images(8, 90);
  for (auto [m, o] : {std::pair<models::Model*, optim::Optimizer*>{&a, &oa}, {&b, &ob}}) {
    o->ZeroGrad();
    NllLoss(m->Forward(extra.input), extra.target).Backward();
    o->Step();
  }
  both("after a step outside");
  // A Forward: the replicas view the model's weights for it, then copy them again.
  {
    NoGradGuard no_grad;
    EXPECT_EQ(rb.Forward(extra.input, 2).ToVector(), ra.Forward(extra.input, 2).ToVector());
  }
  both("after a Forward");
  both("on one thread", 1);
  both("back on two");
  // Weights set by hand and the optimiser's state loaded, as a restored checkpoint does.
  for (models::Model* m : {static_cast<models::Model*>(&a), static_cast<models::Model*>(&b)}) {
    FillInto(m->FlatParameters(), 0.01);
  }
  ASSERT_TRUE(oa.LoadState(1, {}).ok());
  ASSERT_TRUE(ob.LoadState(1, {}).ok());
  both("after a restore");
  // The same, at the step count the replicas left: the state's version tells.
  for (models::Model* m : {static_cast<models::Model*>(&a), static_cast<models::Model*>(&b)}) {
    FillInto(m->FlatParameters(), -0.02);
  }
  ASSERT_TRUE(oa.LoadState(oa.steps(), oa.StateTensors()).ok());
  ASSERT_TRUE(ob.LoadState(ob.steps(), ob.StateTensors()).ok());
  both("after a restore at the same step count");
  // Weights alone rewritten in place: Invalidate() says so.
  for (models::Model* m : {static_cast<models::Model*>(&a), static_cast<models::Model*>(&b)}) {
    FillInto(m->FlatParameters(), 0.03);
  }
  rb.Invalidate();
  EXPECT_FALSE(rb.holds_copies());
  both("after weights set by hand and Invalidate");
  EXPECT_TRUE(rb.holds_copies());
  // Another optimiser over the same parameters.
  optim::Adam oa2(a.Parameters(), {.lr = 0.01}), ob2(b.Parameters(), {.lr = 0.01});
  StepBoth({&a, &ra, &oa2}, {&b, &rb, &ob2}, Images(8, 99), 2, "another optimiser");
}

// An error in a piece on the worker: no copy is stepped, the caller hears it, and the next
// step is right.
TEST(Replicas, AnErrorInAPieceOfAFusedStepStepsNothing) {
  models::Lenet5 a(2), b(2);
  optim::Sgd oa(a.Parameters(), {.lr = 0.1, .momentum = 0.9});
  optim::Sgd ob(b.Parameters(), {.lr = 0.1, .momentum = 0.9});
  Replicas ra(&a, 2), rb(&b, 2);
  StepBoth({&a, &ra, &oa}, {&b, &rb, &ob}, Images(8, 70), 2, "the first step");
  Batch bad = Images(8, 71);
  std::vector<int64_t> target = bad.target.ToInt64Vector();
  target[6] = 10;  // in piece 1, on the worker thread
  bad.target = Tensor::FromInt64(target, {8});
  const std::vector<double> weights = b.FlatParameters().ToVector();
  ob.ZeroGrad();
  try {
    rb.ForwardBackwardStep(bad, 2, &ob);
    FAIL() << "a target outside [0, 10) was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("outside [0, 10)"));
  }
  EXPECT_EQ(b.FlatParameters().ToVector(), weights);
  EXPECT_EQ(ob.steps(), 1);
  StepBoth({&a, &ra, &oa}, {&b, &rb, &ob}, Images(8, 72), 2, "the step after the error");
}

TEST(Replicas, AnErrorInAnyPieceReachesTheCaller) {
  models::Lenet5 m(2);
  Replicas r(&m, 2);
  Batch bad = Images(8, 16);
  std::vector<int64_t> target = bad.target.ToInt64Vector();
  target[6] = 10;  // in piece 1, on the worker thread
  bad.target = Tensor::FromInt64(target, {8});
  m.ZeroGrad();
  try {
    r.ForwardBackward(bad, 2);
    FAIL() << "a target outside [0, 10) was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("outside [0, 10)"));
  }
  // The workers still serve the next step.
  models::Lenet5 ref(2);
  const Batch good = Images(8, 17);
  ExpectClose(Split(&m, &r, good, 2), OnePiece(&ref, good));
  EXPECT_THROW(r.ForwardBackward(Images(1, 18), 2), Error);  // fewer examples than pieces
}

TEST(Replicas, ReplicasFollowTheModelsParametersWhenTheyMove) {
  models::Lenet5 a(7), b(7);
  Replicas r(&b, 2);
  const Batch batch = Images(8, 19);
  {
    testing::ScopedHostAsDevice device;
    b.MoveTo(testing::kHostAsDevice);
    try {
      r.ForwardBackward(batch, 2);
      FAIL() << "split a step of a model that is not on the CPU";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("on the CPU"));
    }
    b.MoveTo(Device::CPU());  // new storage: the replica's old view would read stale weights
  }
  // One identical step on both models changes the weights the replica must now see.
  optim::Sgd sa(a.Parameters(), {.lr = 0.5}), sb(b.Parameters(), {.lr = 0.5});
  OnePiece(&a, batch);
  sa.Step();
  OnePiece(&b, batch);
  sb.Step();
  const Batch next = Images(8, 21);
  ExpectClose(Split(&b, &r, next, 2), OnePiece(&a, next));
}

TEST(Replicas, ForwardGivesTheWholeBatchsOutputs) {
  // Eval mode: each example's log-probabilities depend on that example alone, so the pieces'
  // outputs joined are the whole batch's, bit for bit, on one thread or two, in uneven pieces.
  models::Lenet5 lenet(21);
  models::MinitorchMnist mini(22);
  models::KimCnnOptions o;
  o.vocab_size = 50;
  o.embedding_dim = 8;
  o.feature_maps = 4;
  models::KimCnn kim(o, 23);
  const Tensor images = Images(11, 24).input, sentences = Sentences(9, 6, 50, 25).input;
  // 11 and 9 examples in 3 pieces; 6 in pieces of two; 5 would leave a piece of one (which
  // would take the one-row product path), so it runs whole.
  for (auto [model, input] : {std::pair<models::Model*, Tensor>{&lenet, images},
                              {&mini, images}, {&kim, sentences},
                              {&lenet, Narrow(images, 0, 0, 6)}, {&mini, Narrow(images, 0, 0, 5)},
                              {&lenet, Narrow(images, 0, 0, 5)}}) {
    model->Eval();
    Replicas r(model, 3);
    std::vector<double> want;
    {
      NoGradGuard no_grad;
      ScopedThreads one(1);
      want = model->Forward(input).ToVector();
    }
    const std::string state = model->dropout_generator().State();
    for (int threads : {1, 3}) {
      const Tensor got = r.Forward(input, threads);
      EXPECT_FALSE(got.requires_grad()) << model->name();
      EXPECT_EQ(got.shape(), (Shape{input.size(0), model->num_classes()})) << model->name();
      EXPECT_EQ(got.ToVector(), want) << model->name() << " on " << threads << " threads";
    }
    // No dropout in eval mode, so the model's generator is left as it was.
    EXPECT_EQ(model->dropout_generator().State(), state) << model->name();
    EXPECT_THROW(r.Forward(Narrow(input, 0, 0, 2), 3), Error);  // fewer examples than pieces
  }
}

TEST(Replicas, PiecesFollowTheThreadSettingAndTheBatch) {
  EXPECT_EQ(Replicas::PiecesFor(1, 64), 1);
  EXPECT_EQ(Replicas::PiecesFor(2, 64), 2);
  EXPECT_EQ(Replicas::PiecesFor(8, 6), 3);  // at least two examples per piece
  EXPECT_EQ(Replicas::PiecesFor(2, 3), 1);
}

TEST(ShareParametersWith, RefusesAnotherArchitecture) {
  models::Lenet5 lenet(1);
  models::MinitorchMnist mini(1);
  try {
    mini.ShareParametersWith(lenet);
    FAIL() << "shared LeNet-5's parameters with MiniTorch's network";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("ShareParametersWith"));
  }
}

}  // namespace
}  // namespace mt::train
