// Training on a small synthetic slice: the loss falls, the same seed gives the same metrics, and
// resuming from a checkpoint equals an uninterrupted run. No dataset files are needed.
#include "engine/train/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

#include "common/small_disk_testing.h"
#include "engine/data/mnist_fixture.h"

namespace mt::train {
namespace {

using data::testing::SyntheticDigits;

std::string TmpDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

TrainConfig SmallConfig(const std::string& model) {
  TrainConfig c = DefaultConfig("mnist", model);
  c.epochs = 3;
  c.batch_size = 16;
  c.seed = 7;
  c.threads = 2;
  return c;
}

struct Recorder : TrainerCallback {
  void OnBatch(const BatchProgress& p) override { ++batches; last = p; }
  void OnEpoch(const EpochMetrics& m) override { epochs.push_back(m); }
  int batches = 0;
  BatchProgress last;
  std::vector<EpochMetrics> epochs;
};

TEST(Trainer, LossFallsAndAccuracyRises) {
  MnistDataset train(SyntheticDigits(320, 1)), valid(SyntheticDigits(100, 2));
  for (std::string model : {"lenet5", "minitorch_mnist"}) {
    TrainConfig c = SmallConfig(model);
    models::Lenet5 lenet(c.seed);
    models::MinitorchMnist mini(c.seed);
    models::Model* net = model == "lenet5" ? static_cast<models::Model*>(&lenet) : &mini;
    Trainer t(c, net, &train, &valid);
    Recorder rec;
    absl::StatusOr<TrainResult> r = t.Run(&rec);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->epochs.size(), 3u);
    EXPECT_EQ(rec.batches, 3 * 20);
    EXPECT_EQ(rec.last.num_batches, 20);
    EXPECT_LT(r->epochs.back().train_loss, 0.5 * r->epochs.front().train_loss) << model;
    EXPECT_GT(r->epochs.back().valid_accuracy, 0.6) << model;
    EXPECT_EQ(r->epochs.back().valid_total, 100);
    EXPECT_GT(r->epochs.back().samples_per_second, 0);
  }
}

TEST(Trainer, ResumeFromCheckpointEqualsUninterruptedRun) {
  MnistDataset train(SyntheticDigits(200, 3)), valid(SyntheticDigits(60, 4));
  TrainConfig c = SmallConfig("minitorch_mnist");  // has dropout: its RNG state must resume too
  // Uninterrupted: 3 epochs.
  models::MinitorchMnist full_net(c.seed);
  Trainer full(c, &full_net, &train, &valid);
  absl::StatusOr<TrainResult> whole = full.Run();
  ASSERT_TRUE(whole.ok()) << whole.status();

  // Interrupted: 1 epoch with checkpoints, then a fresh process-like trainer resumes.
  std::string dir = TmpDir("resume");
  TrainConfig one = c;
  one.epochs = 1;
  {
    models::MinitorchMnist net(c.seed);
    Trainer first(one, &net, &train, &valid);
    first.set_checkpoint_dir(dir);
    ASSERT_TRUE(first.Run().ok());
  }
  ASSERT_TRUE(std::filesystem::exists(dir + "/epoch-1.safetensors"));
  models::MinitorchMnist net2(/*seed=*/999);  // different init: the checkpoint must overwrite it
  Trainer second(c, &net2, &train, &valid);
  ASSERT_TRUE(second.Restore(dir + "/latest.safetensors").ok());
  EXPECT_EQ(second.completed_epochs(), 1);
  absl::StatusOr<TrainResult> rest = second.Run();
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->epochs.size(), 2u);
  EXPECT_EQ(rest->epochs[0].epoch, 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(rest->epochs[i].train_loss, whole->epochs[i + 1].train_loss) << "epoch " << i + 2;
    EXPECT_EQ(rest->epochs[i].valid_correct, whole->epochs[i + 1].valid_correct);
  }
  auto a = full_net.NamedParameters(), b = net2.NamedParameters();
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].second.ToVector(), b[i].second.ToVector()) << a[i].first;
  }
  EXPECT_EQ(rest->best_valid_accuracy, whole->best_valid_accuracy);
}

// Every tensor of two checkpoints (parameters and optim.* state) holds the same bytes.
void ExpectSameTensors(const io::TensorFile& a, const io::TensorFile& b, const std::string& what) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size()) << what;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].first, b.tensors[i].first) << what;
    const Tensor& x = a.tensors[i].second;
    const Tensor& y = b.tensors[i].second;
    ASSERT_EQ(x.shape(), y.shape()) << what << " " << a.tensors[i].first;
    ASSERT_EQ(x.dtype(), y.dtype()) << what << " " << a.tensors[i].first;
    // float -> double is exact, so equal bytes here are equal bytes of the floats.
    const std::vector<double> u = x.ToVector(), v = y.ToVector();
    EXPECT_EQ(std::memcmp(u.data(), v.data(), u.size() * sizeof(double)), 0)
        << what << ": tensor " << a.tensors[i].first << " differs";
  }
}

// Issue 8: the checkpoint stored mt.lr with 6 significant digits, so with a non-round learning
// rate and a decay a resumed run drifted from the uninterrupted one. Stopping after K epochs,
// restoring into a fresh trainer and running the rest must give the same bytes in every
// parameter and optimiser buffer, for each K and for both optimisers.
TEST(Trainer, ResumeIsBitExactWithADecayingNonRoundLearningRate) {
  MnistDataset train(SyntheticDigits(96, 5)), valid(SyntheticDigits(40, 6));
  for (std::string optimizer : {"sgd", "adam"}) {
    TrainConfig c = SmallConfig("minitorch_mnist");  // dropout: its RNG state resumes too
    c.optimizer = optimizer;
    c.epochs = 4;
    c.lr = optimizer == "sgd" ? 0.0123456789 : 0.00123456789;
    c.lr_decay = 0.7654321;
    c.momentum = 0.876543219;
    c.weight_decay = 0.000123456789;
    models::MinitorchMnist full_net(c.seed);
    Trainer full(c, &full_net, &train, &valid);
    absl::StatusOr<TrainResult> whole = full.Run();
    ASSERT_TRUE(whole.ok()) << whole.status();
    const io::TensorFile want = full.Snapshot();
    // The run's config as stored in the checkpoint keeps every float exactly too.
    nlohmann::json config = nlohmann::json::parse(want.metadata.at("mt.config"));
    EXPECT_EQ(config.at("lr").get<double>(), c.lr);
    EXPECT_EQ(config.at("lr_decay").get<double>(), c.lr_decay);
    EXPECT_EQ(config.at("momentum").get<double>(), c.momentum);
    EXPECT_EQ(config.at("weight_decay").get<double>(), c.weight_decay);

    for (int k = 1; k < c.epochs; ++k) {
      const std::string what = absl::StrCat(optimizer, ", stopped after epoch ", k);
      const std::string dir = TmpDir(absl::StrCat("exact-", optimizer, "-", k));
      TrainConfig first_part = c;
      first_part.epochs = k;
      {
        models::MinitorchMnist net(c.seed);
        Trainer first(first_part, &net, &train, &valid);
        first.set_checkpoint_dir(dir);
        ASSERT_TRUE(first.Run().ok()) << what;
      }
      models::MinitorchMnist net2(/*seed=*/999);
      Trainer second(c, &net2, &train, &valid);
      ASSERT_TRUE(second.Restore(dir + "/latest.safetensors").ok()) << what;
      absl::StatusOr<TrainResult> rest = second.Run();
      ASSERT_TRUE(rest.ok()) << rest.status();
      ASSERT_EQ(rest->epochs.size(), static_cast<size_t>(c.epochs - k)) << what;
      for (size_t i = 0; i < rest->epochs.size(); ++i) {
        const EpochMetrics& a = rest->epochs[i];
        const EpochMetrics& b = whole->epochs[k + i];
        EXPECT_EQ(a.lr, b.lr) << what;
        EXPECT_EQ(a.train_loss, b.train_loss) << what;
        EXPECT_EQ(a.valid_correct, b.valid_correct) << what;
      }
      const io::TensorFile got = second.Snapshot();
      ExpectSameTensors(got, want, what);
      // The metadata of the two final checkpoints is the same text, lr included (apart from
      // the last epoch's timings).
      std::map<std::string, std::string> got_md = got.metadata, want_md = want.metadata;
      got_md.erase("mt.epoch_metrics");
      want_md.erase("mt.epoch_metrics");
      EXPECT_EQ(got_md, want_md) << what;
    }
  }
}

// Issue 8: the free space is checked before a checkpoint is written, and a run whose
// checkpoint does not fit fails with a message naming the space needed and available.
TEST(Trainer, ACheckpointThatDoesNotFitFailsTheRunSayingHowMuchSpaceItNeeds) {
  const std::string dir = TmpDir("small_disk");
  if (std::string why = mt::testing::MountSmallDisk(dir, 256 * 1024); !why.empty()) {
    GTEST_SKIP() << why;
  }
  MnistDataset train(SyntheticDigits(64, 5)), valid(SyntheticDigits(20, 6));
  TrainConfig c = SmallConfig("lenet5");  // ~62k parameters + momentum: about 1 MB for two files
  c.epochs = 1;
  models::Lenet5 net(c.seed);
  Trainer t(c, &net, &train, &valid);
  t.set_checkpoint_dir(dir);
  absl::StatusOr<TrainResult> r = t.Run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::AllOf(::testing::HasSubstr("cannot write the checkpoint of epoch 1"),
                               ::testing::HasSubstr("no space left on device"),
                               ::testing::HasSubstr("it needs about "),
                               ::testing::HasSubstr("MB available")));
  // Nothing half-written is left behind.
  EXPECT_FALSE(std::filesystem::exists(dir + "/epoch-1.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/latest.safetensors"));
  // With room (a folder on the ordinary disk) the same run writes its checkpoints.
  EXPECT_TRUE(CheckFreeSpace(TmpDir("big_disk"), 1 << 20, "a checkpoint").ok());
  absl::Status s = CheckFreeSpace(dir, uint64_t{1} << 40, "a checkpoint");
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("needs about 1099511.6 MB"));
}

TEST(Trainer, SameSeedSameMetricsAndCancellation) {
  MnistDataset train(SyntheticDigits(96, 5)), valid(SyntheticDigits(32, 6));
  TrainConfig c = SmallConfig("lenet5");
  c.epochs = 1;
  std::vector<double> losses;
  for (int run = 0; run < 2; ++run) {
    models::Lenet5 net(c.seed);
    Trainer t(c, &net, &train, &valid);
    losses.push_back(t.Run()->epochs[0].train_loss);
  }
  EXPECT_EQ(losses[0], losses[1]);

  struct CancelAfter : TrainerCallback {
    std::atomic<bool> flag{false};
    void OnBatch(const BatchProgress& p) override { if (p.batch == 2) flag = true; }
  } cancel_after;
  models::Lenet5 net(c.seed);
  Trainer t(c, &net, &train, &valid);
  absl::StatusOr<TrainResult> r = t.Run(&cancel_after, &cancel_after.flag);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cancelled);
  EXPECT_TRUE(r->epochs.empty());
  EXPECT_EQ(t.completed_epochs(), 0);
}

TEST(Trainer, RestoreRejectsAnotherModelsCheckpoint) {
  MnistDataset train(SyntheticDigits(32, 5)), valid(SyntheticDigits(16, 6));
  std::string dir = TmpDir("other");
  TrainConfig c = SmallConfig("lenet5");
  c.epochs = 1;
  models::Lenet5 net(c.seed);
  Trainer t(c, &net, &train, &valid);
  t.set_checkpoint_dir(dir);
  ASSERT_TRUE(t.Run().ok());
  TrainConfig other = SmallConfig("minitorch_mnist");
  models::MinitorchMnist mini(1);
  Trainer t2(other, &mini, &train, &valid);
  absl::Status s = t2.Restore(dir + "/latest.safetensors");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("mnist/lenet5"));
  EXPECT_EQ(t2.Restore(dir + "/missing.safetensors").code(), absl::StatusCode::kNotFound);
}

TEST(TrainerHooks, RunInOrderAfterBackwardBeforeTheStep) {
  MnistDataset train(SyntheticDigits(40, 1)), valid(SyntheticDigits(10, 2));
  TrainConfig c = SmallConfig("lenet5");
  c.epochs = 2;
  c.batch_size = 16;  // 3 batches: 16, 16, 8
  models::Lenet5 net(c.seed);
  Trainer t(c, &net, &train, &valid);
  std::vector<std::string> log;
  t.AddAfterBackwardHook([&](const StepContext& s) {
    // The gradients are there and the optimiser has not stepped for this batch yet.
    EXPECT_TRUE(s.model->NamedParameters()[0].second.grad().defined());
    EXPECT_EQ(s.optimizer->steps(), (s.epoch - 1) * 3 + s.batch - 1);
    EXPECT_EQ(s.num_batches, 3);
    ASSERT_NE(s.loss, nullptr);
    EXPECT_EQ(s.loss->numel(), 1);
    log.push_back(absl::StrCat("backward ", s.epoch, ".", s.batch));
  });
  t.AddAfterBatchHook([&](const BatchProgress& p) {
    log.push_back(absl::StrCat("batch ", p.epoch, ".", p.batch, "/", p.num_batches));
  });
  t.AddAfterBatchHook([&](const BatchProgress& p) { log.push_back("second batch hook"); });
  t.AddAfterEpochHook([&](const EpochMetrics& m) { log.push_back(absl::StrCat("epoch ", m.epoch)); });
  t.AddAfterEpochHook([&](const EpochMetrics& m) { log.push_back("second epoch hook"); });
  struct Callback : TrainerCallback {
    std::vector<std::string>* log;
    void OnBatch(const BatchProgress& p) override { log->push_back("callback batch"); }
    void OnEpoch(const EpochMetrics& m) override { log->push_back("callback epoch"); }
  } callback;
  callback.log = &log;
  ASSERT_TRUE(t.Run(&callback).ok());
  std::vector<std::string> want;
  for (int e = 1; e <= 2; ++e) {
    for (int b = 1; b <= 3; ++b) {
      want.push_back(absl::StrCat("backward ", e, ".", b));
      want.push_back(absl::StrCat("batch ", e, ".", b, "/3"));
      want.push_back("second batch hook");
      want.push_back("callback batch");
    }
    want.push_back(absl::StrCat("epoch ", e));
    want.push_back("second epoch hook");
    want.push_back("callback epoch");
  }
  EXPECT_EQ(log, want);
}

TEST(TrainerHooks, ZeroingGradientsAfterBackwardMakesTheStepANoOp) {
  MnistDataset train(SyntheticDigits(32, 1)), valid(SyntheticDigits(10, 2));
  TrainConfig c = SmallConfig("lenet5");
  c.epochs = 1;
  c.momentum = 0;  // plain SGD: a zero gradient moves nothing
  for (bool flat : {false, true}) {
    models::Lenet5 net(c.seed), untouched(c.seed);
    Trainer t(c, &net, &train, &valid);
    int calls = 0;
    t.AddAfterBackwardHook([&](const StepContext& s) {
      ++calls;
      if (flat) {
        // Where a data-parallel all-reduce would go: one call on the flat gradient.
        Tensor g = s.model->GatherGradients();
        std::memset(g.raw_data(), 0, g.numel() * sizeof(float));
      } else {
        s.model->ZeroGrad();
      }
    });
    ASSERT_TRUE(t.Run().ok());
    EXPECT_EQ(calls, 2);
    auto a = net.NamedParameters(), b = untouched.NamedParameters();
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].second.ToVector(), b[i].second.ToVector()) << a[i].first;
    }
  }
}

TEST(TrainerHooks, AHookThatLeavesGradientsAloneChangesNothing) {
  MnistDataset train(SyntheticDigits(48, 3)), valid(SyntheticDigits(16, 4));
  TrainConfig c = SmallConfig("minitorch_mnist");
  c.epochs = 2;
  models::MinitorchMnist plain_net(c.seed), hooked_net(c.seed);
  Trainer plain(c, &plain_net, &train, &valid), hooked(c, &hooked_net, &train, &valid);
  // Gathering into the flat gradient (as an all-reduce over one rank would) is exact.
  hooked.AddAfterBackwardHook([](const StepContext& s) { s.model->GatherGradients(); });
  absl::StatusOr<TrainResult> a = plain.Run(), b = hooked.Run();
  ASSERT_TRUE(a.ok() && b.ok());
  for (int e = 0; e < 2; ++e) EXPECT_EQ(a->epochs[e].train_loss, b->epochs[e].train_loss);
  EXPECT_EQ(plain_net.FlatParameters().ToVector(), hooked_net.FlatParameters().ToVector());
}

TEST(Trainer, AShardTrainsOnItsShareOfTheEpoch) {
  MnistDataset train(SyntheticDigits(40, 1)), valid(SyntheticDigits(10, 2));
  TrainConfig c = SmallConfig("lenet5");
  c.epochs = 1;
  models::Lenet5 net(c.seed);
  Trainer t(c, &net, &train, &valid);
  ASSERT_TRUE(t.SetShard(1, 2).ok());
  EXPECT_EQ(t.sampler().shard_size(), 20);
  Recorder rec;
  ASSERT_TRUE(t.Run(&rec).ok());
  EXPECT_EQ(rec.batches, 2);  // 16 + 4 of its 20 examples
  EXPECT_EQ(rec.last.num_batches, 2);
  EXPECT_EQ(t.SetShard(2, 2).message(), "invalid shard: rank 2 of 2 (need 0 <= rank < world_size)");
}

TEST(Config, ValidationNamesFieldValueAndAllowed) {
  TrainConfig c = DefaultConfig("mnist", "lenet5");
  EXPECT_TRUE(Validate(c).ok());
  c.model = "kim_cnn";
  absl::Status s = Validate(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("invalid model 'kim_cnn'"));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("lenet5, minitorch_mnist"));
  c = DefaultConfig("mnist", "lenet5");
  c.batch_size = 0;
  EXPECT_THAT(std::string(Validate(c).message()), ::testing::HasSubstr("batch_size '0'"));
  c = DefaultConfig("mnist", "lenet5");
  c.task = "cifar";
  EXPECT_THAT(std::string(Validate(c).message()), ::testing::HasSubstr("mnist or sst2"));
  c = DefaultConfig("mnist", "lenet5");
  c.lr = -1;
  EXPECT_FALSE(Validate(c).ok());
}

TEST(KimCnn, PaddingNeverChangesTheResult) {
  models::KimCnnOptions o;
  o.vocab_size = 20;
  o.embedding_dim = 6;
  o.feature_maps = 4;
  models::KimCnn net(o, 3);
  net.Eval();
  // Sentence [5, 6] (shorter than the widest filter) and [7..13], padded to 7 and to 12.
  Tensor a = Tensor::FromInt64({5, 6, 0, 0, 0, 0, 0, 7, 8, 9, 10, 11, 12, 13}, {2, 7});
  std::vector<int64_t> padded(24, 0);
  padded[0] = 5;
  padded[1] = 6;
  for (int i = 0; i < 7; ++i) padded[12 + i] = 7 + i;
  Tensor b = Tensor::FromInt64(padded, {2, 12});
  std::vector<double> ya = net.Forward(a).ToVector(), yb = net.Forward(b).ToVector();
  for (size_t i = 0; i < ya.size(); ++i) EXPECT_NEAR(ya[i], yb[i], 1e-6);
  // And the gradient never reaches the pad row of the table.
  net.Train();
  Sum(net.Forward(b)).Backward();
  std::vector<double> g = net.NamedParameters()[0].second.grad().ToVector();
  for (int64_t d = 0; d < 6; ++d) EXPECT_EQ(g[d], 0.0);
  EXPECT_THROW(net.Forward(Tensor::FromInt64({1, 2, 3}, {3})), Error);
}

TEST(KimCnn, LearnsASeparableToyTask) {
  // Token 2 means positive, token 3 negative; others are noise.
  Generator gen(11);
  std::vector<data::EncodedExample> ex;
  for (int i = 0; i < 200; ++i) {
    data::EncodedExample e;
    e.label = gen.Below(2);
    int len = 3 + gen.Below(8);
    for (int t = 0; t < len; ++t) e.ids.push_back(4 + gen.Below(16));
    e.ids[gen.Below(len)] = e.label ? 2 : 3;
    ex.push_back(e);
  }
  Sst2Dataset train(std::vector<data::EncodedExample>(ex.begin(), ex.begin() + 160), 5);
  Sst2Dataset valid(std::vector<data::EncodedExample>(ex.begin() + 160, ex.end()), 5);
  TrainConfig c = DefaultConfig("sst2", "kim_cnn");
  c.epochs = 4;
  c.batch_size = 16;
  c.embedding_dim = 16;
  c.lr = 0.01;
  models::KimCnnOptions o;
  o.vocab_size = 20;
  o.embedding_dim = 16;
  o.feature_maps = 8;
  models::KimCnn net(o, 1);
  Trainer t(c, &net, &train, &valid);
  absl::StatusOr<TrainResult> r = t.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->best_valid_accuracy, 0.9);
}

}  // namespace
}  // namespace mt::train
