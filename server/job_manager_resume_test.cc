// Issue 8: a job stopped after an epoch and resumed ends with the same checkpoint, byte for
// byte, as the same job run without a stop, also with a decaying, non-round learning rate (the
// checkpoint used to keep mt.lr to 6 significant digits).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "engine/io/safetensors.h"
#include "server/job_manager.h"
#include "server/job_manager_test_util.h"

namespace mt::server {
namespace {

using namespace ::mt::server::jm_testing;  // the shared fixture: data, specs, waits, streams
using std::chrono::milliseconds;

// Waits on the job's stream for its first epoch event.
void WaitForFirstEpochEvent(JobManager& m, const std::string& id) {
  int64_t from = 1, progress_version = 0;
  for (int i = 0; i < 100000; ++i) {
    absl::StatusOr<WatchBatch> b =
        m.Watch(id, from, /*follow=*/true, progress_version, milliseconds(60000));
    ASSERT_TRUE(b.ok()) << b.status();
    progress_version = b->progress_version;
    for (const v1::JobEvent& e : b->events) {
      if (e.has_epoch()) return;
      from = e.seq() + 1;
    }
    ASSERT_FALSE(b->finished) << "the job ended before its first epoch";
  }
  FAIL() << "no epoch event";
}

void ExpectSameCheckpointTensors(const std::string& a_path, const std::string& b_path) {
  absl::StatusOr<io::TensorFile> a = io::ReadSafetensors(a_path);
  absl::StatusOr<io::TensorFile> b = io::ReadSafetensors(b_path);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(a->tensors.size(), b->tensors.size());
  for (size_t i = 0; i < a->tensors.size(); ++i) {
    const std::string& name = a->tensors[i].first;
    EXPECT_EQ(name, b->tensors[i].first);
    const Tensor& x = a->tensors[i].second;
    const Tensor& y = b->tensors[i].second;
    ASSERT_EQ(x.shape(), y.shape()) << name;
    ASSERT_EQ(x.dtype(), y.dtype()) << name;
    ASSERT_EQ(x.numel() * ElementSize(x.dtype()), y.numel() * ElementSize(y.dtype()));
    EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), x.numel() * ElementSize(x.dtype())), 0)
        << "tensor " << name << " differs";
  }
  // The same metadata too (the last epoch's timings aside): mt.lr, optimiser steps, RNGs.
  std::map<std::string, std::string> am = a->metadata, bm = b->metadata;
  am.erase("mt.epoch_metrics");
  bm.erase("mt.epoch_metrics");
  EXPECT_EQ(am, bm);
}

TEST(JobManagerResume, AStoppedAndResumedJobEndsBitIdenticalToAnUninterruptedOne) {
  const std::string dir = FreshDir("exact_resume");
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
  ASSERT_TRUE(m);
  v1::JobSpec spec = SmallSpec(6);
  spec.set_learning_rate(0.0123456789);
  spec.set_lr_decay(0.7654321);
  spec.set_momentum(0.876543219);

  absl::StatusOr<v1::Job> whole = m->Submit(spec);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_EQ(WaitTerminal(*m, whole->id()).state(), v1::SUCCEEDED);

  absl::StatusOr<v1::Job> split = m->Submit(spec);
  ASSERT_TRUE(split.ok()) << split.status();
  WaitForFirstEpochEvent(*m, split->id());
  absl::StatusOr<v1::Job> stopped =
      m->Cancel(split->id(), std::chrono::steady_clock::now() + kDeadline);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  ASSERT_EQ(stopped->state(), v1::CANCELLED) << "the job must stop before its last epoch";
  ASSERT_GE(stopped->epochs_done(), 1);
  ASSERT_LT(stopped->epochs_done(), 6);
  absl::StatusOr<v1::Job> resumed = m->Resume(split->id());
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  const v1::Job done = WaitTerminal(*m, split->id());
  ASSERT_EQ(done.state(), v1::SUCCEEDED) << done.error();

  const std::string a = dir + "/jobs/" + whole->id() + "/", b = dir + "/jobs/" + split->id() + "/";
  ExpectSameCheckpointTensors(a + "latest.safetensors", b + "latest.safetensors");
  ExpectSameCheckpointTensors(a + "epoch-6.safetensors", b + "epoch-6.safetensors");
  // And the per-epoch learning rates and losses the two jobs logged.
  absl::StatusOr<v1::Job> aj = m->Get(whole->id());
  ASSERT_TRUE(aj.ok());
  EXPECT_EQ(aj->last_epoch().learning_rate(), done.last_epoch().learning_rate());
  EXPECT_EQ(aj->last_epoch().train_loss(), done.last_epoch().train_loss());
  EXPECT_EQ(aj->best_valid_accuracy(), done.best_valid_accuracy());
}

}  // namespace
}  // namespace mt::server
