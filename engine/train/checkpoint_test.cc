// Every mt.* key: written with today's text, read back to the same values, and checkpoints that
// reload into a model and optimiser exactly.
#include "engine/train/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "engine/autograd.h"

namespace mt::train {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

CheckpointMeta FullMeta() {
  CheckpointMeta m;
  m.task = "sst2";
  m.model = "kim_cnn";
  m.config_json = "{\"task\":\"sst2\"}";
  m.epoch = 3;
  m.optimizer_steps = 240;
  m.lr = 0.0343;
  m.shuffle_rng = "1 2 3";
  m.dropout_rng = "4 5 6";
  m.best_valid_accuracy = 0.8125;
  m.best_epoch = 2;
  EpochMetrics em;
  em.epoch = 3;
  em.train_loss = 0.25;
  em.train_accuracy = 0.9;
  em.valid_accuracy = 0.8;
  em.valid_correct = 8;
  em.valid_total = 10;
  em.seconds = 1.5;
  em.samples_per_second = 1000;
  em.lr = 0.049;
  m.epoch_metrics = em;
  m.vocab = std::vector<std::string>{"<pad>", "<unk>", "good"};
  m.extra = {{"note", "kept"}};
  return m;
}

TEST(Checkpoint, EveryKeyWithItsText) {
  std::map<std::string, std::string> md = CheckpointMetadata(FullMeta());
  EXPECT_THAT(md, ElementsAre(Pair("format", "pt"), Pair("mt.best_epoch", "2"),
                              Pair("mt.best_valid_accuracy", "0.8125"),
                              Pair("mt.config", "{\"task\":\"sst2\"}"), Pair("mt.epoch", "3"),
                              Pair("mt.epoch_metrics", EpochMetricsToJson(*FullMeta().epoch_metrics)),
                              Pair("mt.lr", "0.0343"), Pair("mt.model", "kim_cnn"),
                              Pair("mt.optimizer_steps", "240"), Pair("mt.rng.dropout", "4 5 6"),
                              Pair("mt.rng.shuffle", "1 2 3"), Pair("mt.task", "sst2"),
                              Pair("mt.vocab", "<pad>\n<unk>\ngood\n"), Pair("note", "kept")));
  // Doubles are written exactly: the shortest text that reads back as the same double (round
  // values as above stay short). Until issue 8 this was absl::StrCat's 6 significant digits,
  // "0.0245" here, and a resumed job with a decaying learning rate drifted from the
  // uninterrupted one.
  CheckpointMeta m = FullMeta();
  m.lr = 0.05 * 0.7 * 0.7;
  EXPECT_EQ(CheckpointMetadata(m).at("mt.lr"), "0.024499999999999997");
  m.lr = 0.0123456789;
  EXPECT_EQ(CheckpointMetadata(m).at("mt.lr"), "0.0123456789");
  m.epoch_metrics.reset();
  m.vocab.reset();
  EXPECT_EQ(CheckpointMetadata(m).count("mt.epoch_metrics"), 0u);
  EXPECT_EQ(CheckpointMetadata(m).count("mt.vocab"), 0u);
}

TEST(Checkpoint, RoundTripOfEveryKey) {
  io::TensorFile f;
  f.metadata = CheckpointMetadata(FullMeta());
  absl::StatusOr<CheckpointMeta> r = ReadCheckpointMeta(f);
  ASSERT_TRUE(r.ok()) << r.status();
  const CheckpointMeta want = FullMeta();
  EXPECT_EQ(r->task, want.task);
  EXPECT_EQ(r->model, want.model);
  EXPECT_EQ(r->config_json, want.config_json);
  EXPECT_EQ(r->epoch, 3);
  EXPECT_EQ(r->optimizer_steps, 240);
  EXPECT_EQ(r->lr, 0.0343);
  EXPECT_EQ(r->shuffle_rng, "1 2 3");
  EXPECT_EQ(r->dropout_rng, "4 5 6");
  EXPECT_EQ(r->best_valid_accuracy, 0.8125);
  EXPECT_EQ(r->best_epoch, 2);
  ASSERT_TRUE(r->epoch_metrics.has_value());
  EXPECT_EQ(EpochMetricsToJson(*r->epoch_metrics), EpochMetricsToJson(*want.epoch_metrics));
  EXPECT_EQ(r->epoch_metrics->valid_correct, 8);
  ASSERT_TRUE(r->vocab.has_value());
  EXPECT_THAT(*r->vocab, ElementsAre("<pad>", "<unk>", "good"));
  EXPECT_THAT(r->extra, ElementsAre(Pair("note", "kept")));
  // And writing what was read gives the same metadata again.
  EXPECT_EQ(CheckpointMetadata(*r), f.metadata);

  CheckpointSummary s = SummarizeCheckpoint(f.metadata);
  EXPECT_EQ(s.task, "sst2");
  EXPECT_EQ(s.model, "kim_cnn");
  EXPECT_EQ(s.epoch, 3);
  ASSERT_TRUE(s.epoch_metrics.has_value());
  EXPECT_EQ(s.epoch_metrics->epoch, 3);
  EXPECT_FALSE(SummarizeCheckpoint({{"mt.epoch_metrics", "{"}}).epoch_metrics.has_value());
  EXPECT_EQ(SummarizeCheckpoint({}).epoch, 0);
  EXPECT_EQ(SummarizeCheckpoint({{"mt.epoch", "x"}}).epoch, 0);
}

TEST(Checkpoint, EveryStoredFloatReadsBackExactly) {
  // Values that 6 significant digits (the old text) would change, and extremes.
  const double values[] = {0.0123456789,          0.0123456789 * 0.7654321 * 0.7654321,
                           0.05 * 0.7 * 0.7 * 0.7, 1.0 / 3.0,
                           0.98765432101234567,    5e-324,
                           1.7976931348623157e308, 0.0};
  for (double v : values) {
    CheckpointMeta m = FullMeta();
    m.lr = v;
    m.best_valid_accuracy = v;
    m.epoch_metrics->lr = v;
    m.epoch_metrics->train_loss = v;
    m.epoch_metrics->valid_accuracy = v;
    io::TensorFile f;
    f.metadata = CheckpointMetadata(m);
    absl::StatusOr<CheckpointMeta> r = ReadCheckpointMeta(f);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->lr, v) << f.metadata.at("mt.lr");
    EXPECT_EQ(r->best_valid_accuracy, v) << f.metadata.at("mt.best_valid_accuracy");
    // mt.epoch_metrics is JSON; nlohmann writes doubles with round-trip precision.
    EXPECT_EQ(r->epoch_metrics->lr, v) << f.metadata.at("mt.epoch_metrics");
    EXPECT_EQ(r->epoch_metrics->train_loss, v);
    EXPECT_EQ(r->epoch_metrics->valid_accuracy, v);
  }
  // Checkpoints written before this (6 significant digits) still load, to what they hold.
  io::TensorFile old;
  old.metadata = CheckpointMetadata(FullMeta());
  old.metadata["mt.lr"] = "0.0245";
  old.metadata["mt.best_valid_accuracy"] = "0.987654";
  absl::StatusOr<CheckpointMeta> r = ReadCheckpointMeta(old);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->lr, 0.0245);
  EXPECT_EQ(r->best_valid_accuracy, 0.987654);
}

TEST(Checkpoint, MissingOrMalformedNumbersAreNamed) {
  io::TensorFile f;
  f.metadata = CheckpointMetadata(FullMeta());
  f.metadata.erase("mt.epoch");
  absl::StatusOr<CheckpointMeta> r = ReadCheckpointMeta(f);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(), "checkpoint metadata 'mt.epoch' is missing or not an integer");
  f.metadata = CheckpointMetadata(FullMeta());
  f.metadata["mt.lr"] = "fast";
  EXPECT_EQ(ReadCheckpointMeta(f, "/ck/latest.safetensors").status().message(),
            "/ck/latest.safetensors: checkpoint metadata mt.lr / mt.best_valid_accuracy is "
            "malformed");
  EXPECT_EQ(ReadCheckpointMeta(f).status().message(),
            "checkpoint metadata mt.lr / mt.best_valid_accuracy is malformed");
  f.metadata = CheckpointMetadata(FullMeta());
  f.metadata["mt.epoch_metrics"] = "[";
  EXPECT_EQ(ReadCheckpointMeta(f).status().code(), absl::StatusCode::kDataLoss);
}

TEST(Checkpoint, VocabularyAndExport) {
  io::TensorFile f;
  f.metadata = CheckpointMetadata(FullMeta());
  f.tensors.emplace_back("fc.weight", Tensor::FromVector({1, 2}, {2}));
  f.tensors.emplace_back("optim.0.exp_avg", Tensor::FromVector({3, 4}, {2}));
  absl::StatusOr<std::shared_ptr<data::Vocab>> v = CheckpointVocab(f, "p");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)->size(), 3);
  EXPECT_EQ((*v)->Id("good"), 2);
  EXPECT_EQ(JoinVocab(**v), "<pad>\n<unk>\ngood\n");

  io::TensorFile e = ExportedModel(f);
  ASSERT_EQ(e.tensors.size(), 1u);
  EXPECT_EQ(e.tensors[0].first, "fc.weight");
  std::vector<std::string> keys;
  for (const auto& [k, value] : e.metadata) keys.push_back(k);
  EXPECT_THAT(keys, ElementsAre("format", "mt.config", "mt.epoch", "mt.model", "mt.task",
                                "mt.vocab"));
  EXPECT_EQ(e.metadata.at("mt.vocab"), f.metadata.at("mt.vocab"));

  f.metadata.erase("mt.vocab");
  EXPECT_EQ(CheckpointVocab(f, "p").status().message(),
            "p: checkpoint lacks the vocabulary (mt.vocab metadata)");
  f.metadata["mt.vocab"] = "good\n";
  EXPECT_EQ(CheckpointVocab(f, "p").status().code(), absl::StatusCode::kDataLoss);
}

TEST(Checkpoint, WeightsAndOptimizerStateReloadExactly) {
  models::Lenet5 net(3);
  optim::Adam adam(net.Parameters(), optim::AdamOptions{.lr = 0.01});
  Tensor x = Tensor::Full({2, 1, 28, 28}, 0.5);
  Sum(net.Forward(x)).Backward();
  adam.Step();
  CheckpointMeta meta = FullMeta();
  meta.optimizer_steps = adam.steps();
  io::TensorFile file = MakeCheckpoint(net, adam, meta);
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(base ? base : "/tmp") + "/ck.safetensors";
  ASSERT_TRUE(io::WriteSafetensors(path, file).ok());
  absl::StatusOr<io::TensorFile> back = io::ReadSafetensors(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->metadata, file.metadata);

  models::Lenet5 other(4);
  ASSERT_TRUE(LoadWeights(*back, &other).ok());
  auto a = net.NamedParameters(), b = other.NamedParameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].second.ToVector(), b[i].second.ToVector()) << a[i].first;
  }
  // Loading copied into the flat buffer: the parameters are still views of it.
  EXPECT_EQ(b[0].second.impl()->storage, other.FlatParameters().impl()->storage);

  optim::Adam adam2(other.Parameters(), optim::AdamOptions{.lr = 0.01});
  ASSERT_TRUE(LoadOptimizerState(*back, adam.steps(), &adam2).ok());
  EXPECT_EQ(adam2.steps(), 1);
  auto sa = adam.StateTensors(), sb = adam2.StateTensors();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_EQ(sa[i].second.ToVector(), sb[i].second.ToVector()) << sa[i].first;
  }

  models::MinitorchMnist wrong(1);
  absl::Status s = LoadWeights(*back, &wrong);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "checkpoint parameter 'conv1.weight' is [6, 1, 5, 5] float32 but model "
                         "minitorch_mnist needs [4, 1, 3, 3] float32");
}

}  // namespace
}  // namespace mt::train
