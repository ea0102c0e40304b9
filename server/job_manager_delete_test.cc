// What mt-client's newer commands ask of the job manager, without a network: delete and prune
// of finished jobs (rows, events and files; running jobs refused; survives a restart), --epoch
// N|best choosing a checkpoint, the input echoed back with predictions and activations, job
// names, and the live progress a RUNNING job shows in Get.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "server/job_manager.h"
#include "server/job_manager_test_util.h"

namespace mt::server {
namespace {

namespace fs = std::filesystem;
using namespace jm_testing;  // NOLINT: the shared test helpers
using ::testing::HasSubstr;

std::vector<std::string> Ids(const std::vector<v1::Job>& jobs) {
  std::vector<std::string> ids;
  for (const v1::Job& j : jobs) ids.push_back(j.id());
  return ids;
}

TEST(JobManagerDeleteTest, DeletesAFinishedJobWithItsFilesAndRefusesARunningOne) {
  const std::string state = FreshDir("delete-state");
  Options o = MakeOptions(state, 1);
  std::string done_id, running_id;
  {
    std::unique_ptr<JobManager> m = MustCreate(o);
    absl::StatusOr<v1::Job> done = m->Submit(SmallSpec(1));
    ASSERT_TRUE(done.ok()) << done.status();
    done_id = done->id();
    ASSERT_EQ(WaitTerminal(*m, done_id).state(), v1::SUCCEEDED);
    const std::string dir = state + "/jobs/" + done_id;
    ASSERT_TRUE(fs::exists(dir + "/latest.safetensors"));
    // Every file the job left: its checkpoints and its TensorBoard event files.
    ASSERT_TRUE(fs::exists(dir + "/tensorboard"));
    uintmax_t size = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) size += e.file_size();
    }
    ASSERT_GT(size, fs::file_size(dir + "/latest.safetensors") +
                        fs::file_size(dir + "/epoch-1.safetensors"));

    // Many epochs, so that it is still running when refused.
    absl::StatusOr<v1::Job> running = m->Submit(SmallSpec(200));
    ASSERT_TRUE(running.ok());
    running_id = running->id();
    WaitFor(
        *m, running_id, [](const v1::Job& j) { return j.state() == v1::RUNNING; }, "running");
    absl::StatusOr<int64_t> refused = m->Delete(running_id);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(refused.status().message(),
              "job " + running_id +
                  " is RUNNING; only finished jobs can be deleted: stop it "
                  "first with `mt-client cancel " +
                  running_id + "`");

    absl::StatusOr<int64_t> freed = m->Delete(done_id);
    ASSERT_TRUE(freed.ok()) << freed.status();
    EXPECT_EQ(*freed, static_cast<int64_t>(size));
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_EQ(m->Get(done_id).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(m->Get(done_id).status().message(),
              "no job '" + done_id + "' (`mt-client list` shows every job)");
    EXPECT_EQ(Ids(m->List(v1::JOB_STATE_UNSPECIFIED)), std::vector<std::string>{running_id});
    EXPECT_EQ(m->Delete(done_id).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(m->Delete("../etc").status().code(), absl::StatusCode::kNotFound);
    ASSERT_TRUE(m->Cancel(running_id).ok());
  }
  // Gone from the database too; a new job never gets the deleted id.
  std::unique_ptr<JobManager> m = MustCreate(o);
  EXPECT_EQ(m->Get(done_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Ids(m->List(v1::JOB_STATE_UNSPECIFIED)), std::vector<std::string>{running_id});
  absl::StatusOr<v1::Job> next = m->Submit(SmallSpec(1));
  ASSERT_TRUE(next.ok());
  EXPECT_NE(next->id(), done_id);
  WaitTerminal(*m, next->id());
}

TEST(JobManagerDeleteTest, PruneTakesOnlyTheCallersFinishedJobsBeforeTheCutOff) {
  const std::string state = FreshDir("prune-state");
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(state, 1));
  absl::StatusOr<v1::Job> alice1 = m->SubmitAs(SmallSpec(1), Caller{"alice", false});
  absl::StatusOr<v1::Job> bob = m->SubmitAs(SmallSpec(1), Caller{"bob", false});
  ASSERT_TRUE(alice1.ok() && bob.ok());
  WaitTerminal(*m, alice1->id());
  WaitTerminal(*m, bob->id());
  absl::StatusOr<v1::Job> alice2 = m->SubmitAs(SmallSpec(1), Caller{"alice", false});
  ASSERT_TRUE(alice2.ok());
  WaitTerminal(*m, alice2->id());

  // A cut-off before every job: nothing.
  absl::StatusOr<JobManager::PruneResult> none =
      m->Prune(alice1->created_unix_ms(), Caller{"alice", false}, false);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->job_ids.empty());
  // Dry run: says which, deletes nothing.
  absl::StatusOr<JobManager::PruneResult> dry = m->Prune(0, Caller{"alice", false}, true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->job_ids, (std::vector<std::string>{alice2->id(), alice1->id()}));
  EXPECT_GT(dry->bytes_freed, 0);
  EXPECT_TRUE(m->Get(alice1->id()).ok());
  // Only jobs created before alice2.
  absl::StatusOr<JobManager::PruneResult> some =
      m->Prune(alice2->created_unix_ms(), Caller{"alice", false}, false);
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->job_ids, std::vector<std::string>{alice1->id()});
  EXPECT_FALSE(fs::exists(state + "/jobs/" + alice1->id()));
  EXPECT_EQ(Ids(m->List(v1::JOB_STATE_UNSPECIFIED)),
            (std::vector<std::string>{alice2->id(), bob->id()}));
  // Every finished job of hers; bob's stays.
  absl::StatusOr<JobManager::PruneResult> all = m->Prune(0, Caller{"alice", false}, false);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->job_ids, std::vector<std::string>{alice2->id()});
  EXPECT_EQ(Ids(m->List(v1::JOB_STATE_UNSPECIFIED)), std::vector<std::string>{bob->id()});
}

TEST(JobManagerDeleteTest, EpochChoiceInputEchoAndName) {
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(FreshDir("choice-state")));
  v1::JobSpec spec = SmallSpec(2);
  spec.set_name("small lenet, 2 epochs");
  absl::StatusOr<v1::Job> job = m->Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec().name(), "small lenet, 2 epochs");
  const std::string id = job->id();
  const v1::Job done = WaitTerminal(*m, id);
  ASSERT_EQ(done.state(), v1::SUCCEEDED);
  EXPECT_FALSE(done.has_progress());  // only RUNNING jobs show one

  ModelInput in;
  in.valid_index = 5;
  for (int64_t epoch : {1, 2}) {
    CheckpointChoice which;
    which.epoch = epoch;
    absl::StatusOr<v1::PredictResponse> p = m->Predict(id, in, which);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->checkpoint_epoch(), epoch);
  }
  CheckpointChoice best;
  best.best = true;
  absl::StatusOr<v1::PredictResponse> p = m->Predict(id, in, best);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->checkpoint_epoch(), done.best_epoch());
  EXPECT_EQ(m->Predict(id, in)->checkpoint_epoch(), 2);  // the latest

  CheckpointChoice missing;
  missing.epoch = 3;
  absl::Status s = m->Predict(id, in, missing).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "job " + id +
                             " has no checkpoint of epoch 3; it has epochs 1-2 "
                             "(--epoch N or --epoch best)");
  EXPECT_EQ(m->Export(id, missing).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::string> exported = m->Export(id, best);
  ASSERT_TRUE(exported.ok()) << exported.status();

  // The held-out example comes back as the model saw it: 1x28x28, the test digit's pixels.
  ASSERT_EQ(p->input_shape_size(), 3);
  EXPECT_EQ(p->input_shape(0), 1);
  EXPECT_EQ(p->input_shape(1), 28);
  EXPECT_EQ(p->input_shape(2), 28);
  ASSERT_EQ(p->input_values_size(), 28 * 28);
  EXPECT_TRUE(p->input_tokens().empty());
  const std::vector<uint8_t>& pixels = TestDigits().pixels;
  const size_t base = 5 * 28 * 28;
  // Whatever normalisation the model uses, it is increasing: brighter pixels stay brighter.
  int brighter_pairs = 0, checked = 0;
  for (size_t i = 1; i < 28 * 28; ++i) {
    const int a = pixels[base + i - 1], b = pixels[base + i];
    if (a == b) continue;
    ++checked;
    brighter_pairs += (b > a) == (p->input_values(i) > p->input_values(i - 1));
  }
  ASSERT_GT(checked, 0);
  EXPECT_EQ(brighter_pairs, checked);

  absl::StatusOr<ActivationsResult> acts = m->Activations(id, in, best);
  ASSERT_TRUE(acts.ok()) << acts.status();
  EXPECT_EQ(acts->checkpoint_epoch, done.best_epoch());
  EXPECT_EQ(acts->input.shape, (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(acts->input.values.size(), 28u * 28u);

  v1::JobSpec bad = SmallSpec(1);
  bad.set_name("two\nlines");
  EXPECT_EQ(m->Submit(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.set_name(std::string(65, 'n'));
  EXPECT_THAT(std::string(m->Submit(bad).status().message()), HasSubstr("at most 64"));
}

TEST(JobManagerDeleteTest, RunningJobShowsProgressWithEpochsInGet) {
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(FreshDir("progress-state")));
  absl::StatusOr<v1::Job> job = m->Submit(SmallSpec(200));
  ASSERT_TRUE(job.ok());
  const v1::Job seen = WaitFor(
      *m, job->id(), [](const v1::Job& j) { return j.has_progress() && j.progress().batch() > 0; },
      "a batch progress");
  EXPECT_EQ(seen.state(), v1::RUNNING);
  EXPECT_EQ(seen.progress().epochs(), 200);
  EXPECT_EQ(seen.progress().num_batches(), 7);  // 200 images in batches of 32
  ASSERT_TRUE(m->Cancel(job->id()).ok());
}

}  // namespace
}  // namespace mt::server
