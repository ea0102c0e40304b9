// The history a job leaves in its event log: the training-loss series (loss_series.h), each
// epoch's validation loss and confusion matrix with its misclassified examples, replayable from
// any seq and kept across a restart. Values are checked against independent sources: the
// epoch's mean training loss, and Predict on every held-out example of the final checkpoint.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "common/metric_series.h"
#include "proto/tensorboard.pb.h"
#include "server/job_history.h"

#include "server/job_manager.h"
#include "server/job_manager_test_util.h"
#include "server/store.h"

namespace mt::server {
namespace {

using namespace jm_testing;  // NOLINT
using ::testing::ElementsAre;

// The events of a TensorBoard file (framing only; tensorboard_writer_test.py checks the CRCs
// with a reader of its own).
std::vector<tensorboard::Event> ReadEventFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string data = buf.str();
  std::vector<tensorboard::Event> events;
  size_t pos = 0;
  while (pos + 12 <= data.size()) {
    uint64_t len = 0;
    for (int i = 0; i < 8; ++i) {
      len |= static_cast<uint64_t>(static_cast<uint8_t>(data[pos + i])) << (8 * i);
    }
    tensorboard::Event e;
    EXPECT_TRUE(e.ParseFromString(data.substr(pos + 12, len)));
    events.push_back(e);
    pos += 16 + len;
  }
  EXPECT_EQ(pos, data.size());
  return events;
}

TEST(JobHistory, JobRecordsLossPointsValidationLossAndConfusionMatrices) {
  const std::string dir = FreshDir("history");
  std::string id;
  std::vector<v1::JobEvent> events;
  {
    std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
    ASSERT_TRUE(m);
    absl::StatusOr<v1::Job> job = m->Submit(SmallSpec(2));  // 7 batches an epoch, 50 held out
    ASSERT_TRUE(job.ok()) << job.status();
    id = job->id();
    Stream s = Follow(*m, id);
    ASSERT_TRUE(s.finished);
    ExpectWellFormed(s.events, id);
    events = s.events;
    EXPECT_THAT(StatesOf(events), ElementsAre(v1::QUEUED, v1::RUNNING, v1::SUCCEEDED));
    EXPECT_THAT(EpochsOf(events), ElementsAre(1, 2));

    // Training loss: 7 batches an epoch make the base stride 1, a point per batch, each the
    // loss of its batch; their mean over an epoch is the epoch's training loss.
    std::vector<v1::ScalarPoint> points;
    std::vector<v1::EpochMetrics> epochs;
    std::vector<v1::ConfusionMatrix> confusions;
    for (size_t i = 0; i < events.size(); ++i) {
      const v1::JobEvent& e = events[i];
      if (e.has_scalars()) {
        for (const v1::ScalarPoint& p : e.scalars().points()) points.push_back(p);
      }
      if (e.has_epoch()) epochs.push_back(e.epoch());
      if (e.has_confusion()) {
        confusions.push_back(e.confusion());
        // Just before its epoch's event.
        ASSERT_LT(i + 1, events.size());
        EXPECT_TRUE(events[i + 1].has_epoch());
        EXPECT_EQ(events[i + 1].epoch().epoch(), e.confusion().epoch());
      }
    }
    ASSERT_EQ(points.size(), 14u);
    ASSERT_EQ(epochs.size(), 2u);
    for (int64_t epoch = 1; epoch <= 2; ++epoch) {
      double sum = 0;
      for (int64_t b = 1; b <= 7; ++b) {
        const v1::ScalarPoint& p = points[(epoch - 1) * 7 + b - 1];
        EXPECT_EQ(p.tag(), "train/loss");
        EXPECT_EQ(p.step(), (epoch - 1) * 7 + b);
        EXPECT_DOUBLE_EQ(p.epoch(), (epoch - 1) + b / 7.0);
        EXPECT_TRUE(std::isfinite(p.value()) && p.value() > 0) << p.value();
        sum += p.value();
      }
      EXPECT_NEAR(sum / 7, epochs[epoch - 1].train_loss(), 1e-9) << "epoch " << epoch;
    }

    // Confusion matrices: rows are labels, columns predictions, over the 50 held-out images.
    ASSERT_EQ(confusions.size(), 2u);
    for (size_t k = 0; k < 2; ++k) {
      const v1::ConfusionMatrix& c = confusions[k];
      const v1::EpochMetrics& em = epochs[k];
      EXPECT_EQ(c.epoch(), em.epoch());
      ASSERT_EQ(c.num_classes(), 10);
      ASSERT_EQ(c.counts_size(), 100);
      EXPECT_THAT(c.class_names(), ElementsAre("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));
      int64_t total = 0, diagonal = 0;
      for (int t = 0; t < 10; ++t) {
        for (int p = 0; p < 10; ++p) {
          total += c.counts(t * 10 + p);
          if (t == p) diagonal += c.counts(t * 10 + p);
        }
      }
      EXPECT_EQ(total, 50);
      EXPECT_EQ(diagonal, em.valid_correct());
      EXPECT_EQ(c.misclassified_total(), 50 - em.valid_correct());
      EXPECT_EQ(c.misclassified_size(), c.misclassified_total());  // fewer than 64
      int64_t previous = -1;
      for (const v1::ConfusionExample& x : c.misclassified()) {
        EXPECT_GT(x.valid_index(), previous);
        EXPECT_LT(x.valid_index(), 50);
        previous = x.valid_index();
        EXPECT_NE(x.label(), x.predicted());
        EXPECT_GE(c.counts(x.label() * 10 + x.predicted()), 1);
      }
      EXPECT_TRUE(std::isfinite(em.valid_loss()) && em.valid_loss() > 0) << em.valid_loss();
    }

    // The final epoch against Predict on each held-out image of the final checkpoint: the same
    // predictions (so the same matrix and list) and the same mean negative log-likelihood.
    std::vector<int64_t> counts(100, 0);
    std::vector<int64_t> wrong;
    double nll = 0;
    for (int64_t i = 0; i < 50; ++i) {
      ModelInput in;
      in.valid_index = i;
      absl::StatusOr<v1::PredictResponse> p = m->Predict(id, in);
      ASSERT_TRUE(p.ok()) << p.status();
      ASSERT_EQ(p->checkpoint_epoch(), 2);
      ++counts[p->label() * 10 + p->predicted_class()];
      if (p->label() != p->predicted_class()) wrong.push_back(i);
      nll -= std::log(p->probabilities(p->label()));
    }
    EXPECT_THAT(confusions[1].counts(), ::testing::ElementsAreArray(counts));
    std::vector<int64_t> listed;
    for (const v1::ConfusionExample& x : confusions[1].misclassified()) {
      listed.push_back(x.valid_index());
    }
    EXPECT_EQ(listed, wrong);
    EXPECT_NEAR(epochs[1].valid_loss(), nll / 50, 1e-4 * nll / 50);
    EXPECT_NEAR(m->Get(id)->last_epoch().valid_loss(), epochs[1].valid_loss(), 0);

    // Replay from any seq gives the same events again.
    for (int64_t from = 1; from <= static_cast<int64_t>(events.size()); from += 5) {
      absl::StatusOr<WatchBatch> replay = m->Watch(id, from, false, 0, std::chrono::seconds(0));
      ASSERT_TRUE(replay.ok()) << replay.status();
      std::vector<v1::JobEvent> want(events.begin() + (from - 1), events.end());
      EXPECT_EQ(Serialized(replay->events), Serialized(want)) << "from_seq " << from;
    }
  }
  // TensorBoard: one file for the one run, holding the same series as the log.
  const std::string tb_dir = dir + "/jobs/" + id + "/tensorboard";
  std::vector<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(tb_dir)) files.push_back(f.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_THAT(files[0], ::testing::MatchesRegex(".*/events\\.out\\.tfevents\\.[0-9]+\\..+"));
  const std::vector<tensorboard::Event> tb = ReadEventFile(files[0]);
  ASSERT_FALSE(tb.empty());
  EXPECT_EQ(tb[0].file_version(), "brain.Event:2");
  MetricSeries want;
  for (const v1::JobEvent& e : events) want.Add(e);
  std::map<std::string, std::vector<std::pair<int64_t, float>>> scalars;
  std::map<std::string, std::vector<int64_t>> images;
  for (size_t i = 1; i < tb.size(); ++i) {
    ASSERT_TRUE(tb[i].has_summary());
    ASSERT_EQ(tb[i].summary().value_size(), 1);
    const tensorboard::Summary::Value& v = tb[i].summary().value(0);
    if (v.has_image()) {
      images[v.tag()].push_back(tb[i].step());
      EXPECT_EQ(v.image().colorspace(), 1);
      EXPECT_EQ(v.image().encoded_image_string().substr(1, 3), "PNG");
    } else {
      scalars[v.tag()].push_back({tb[i].step(), v.simple_value()});
    }
  }
  ASSERT_EQ(scalars.size(), want.series().size());
  for (const auto& [tag, points] : want.series()) {
    ASSERT_EQ(scalars[tag].size(), points.size()) << tag;
    for (size_t k = 0; k < points.size(); ++k) {
      EXPECT_EQ(scalars[tag][k].first, points[k].step) << tag;
      EXPECT_EQ(scalars[tag][k].second, static_cast<float>(points[k].value)) << tag;
    }
  }
  EXPECT_THAT(scalars["epoch/valid_loss"], ::testing::SizeIs(2));
  // lenet5's four feature maps, after each of the two 7-batch epochs.
  EXPECT_THAT(images, ElementsAre(::testing::Pair("activations/conv1", ElementsAre(7, 14)),
                                  ::testing::Pair("activations/conv2", ElementsAre(7, 14)),
                                  ::testing::Pair("activations/pool1", ElementsAre(7, 14)),
                                  ::testing::Pair("activations/pool2", ElementsAre(7, 14))));

  // And after a restart of the daemon.
  std::unique_ptr<JobManager> again = MustCreate(MakeOptions(dir));
  ASSERT_TRUE(again);
  absl::StatusOr<WatchBatch> replay = again->Watch(id, 1, false, 0, std::chrono::seconds(0));
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(Serialized(replay->events), Serialized(events));
}

}  // namespace
}  // namespace mt::server
