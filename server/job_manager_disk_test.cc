// The job manager on a disk that fills up (issue 8): a running job stops cleanly saying "no
// space left on device", what its followers saw live is what the database holds after a
// restart, writes are refused with that reason, and the daemon restarts on the full disk and
// serves reads. The state directory is a small tmpfs in a private mount namespace, so these
// tests need root; they skip with the reason otherwise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <thread>

#include "common/small_disk_testing.h"
#include "server/job_manager.h"
#include "server/job_manager_test_util.h"

namespace mt::server {
namespace {

using namespace ::mt::server::jm_testing;  // the shared fixture: data, specs, waits, streams
using ::testing::HasSubstr;
using ::testing::Not;
using std::chrono::milliseconds;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The events of a live stream that were recorded: all but a final notice, which repeats the
// seq of the event before it (see JobLog::Append).
std::vector<v1::JobEvent> Recorded(const std::vector<v1::JobEvent>& live) {
  std::vector<v1::JobEvent> out;
  for (const v1::JobEvent& e : live) {
    if (!out.empty() && e.seq() <= out.back().seq()) continue;
    out.push_back(e);
  }
  return out;
}

std::vector<v1::JobEvent> StoredLog(JobManager& m, const std::string& id) {
  absl::StatusOr<WatchBatch> b = m.Watch(id, 1, /*follow=*/false, 0, milliseconds(0));
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? b->events : std::vector<v1::JobEvent>{};
}

TEST(JobManagerDiskFull, AJobStopsCleanlyWritesAreRefusedAndARestartServesReads) {
  const std::string dir = FreshDir("disk_full") + "/state";
  DataDir();  // written before the disk is mounted, on the ordinary disk
  if (std::string why = mt::testing::MountSmallDisk(dir, 16 << 20); !why.empty()) {
    GTEST_SKIP() << why;
  }
  std::string done_id, id;
  Stream live;
  {
    std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
    ASSERT_TRUE(m);
    absl::StatusOr<v1::Job> done = m->Submit(SmallSpec(1));
    ASSERT_TRUE(done.ok()) << done.status();
    done_id = done->id();
    ASSERT_EQ(WaitTerminal(*m, done_id).state(), v1::SUCCEEDED);

    absl::StatusOr<v1::Job> job = m->Submit(SmallSpec(500));
    ASSERT_TRUE(job.ok()) << job.status();
    id = job->id();
    WaitFor(*m, id, [](const v1::Job& j) { return j.epochs_done() >= 1; }, "a first epoch");
    std::thread follower([&] { live = Follow(*m, id); });
    ASSERT_GT(mt::testing::FillDisk(dir), 0u);
    const v1::Job ended = WaitTerminal(*m, id);
    follower.join();

    // (a) The job stopped cleanly, saying why, in a state a restart will also record.
    ASSERT_TRUE(live.finished);
    ASSERT_FALSE(live.events.empty());
    const v1::JobEvent& last = live.events.back();
    EXPECT_TRUE(last.terminal());
    EXPECT_THAT(std::vector<v1::JobState>({v1::FAILED, v1::INTERRUPTED}),
                ::testing::Contains(last.state().state()));
    EXPECT_THAT(Lower(last.state().message()), HasSubstr("no space left on device"));
    EXPECT_EQ(ended.state(), last.state().state());
    EXPECT_THAT(Lower(ended.error()), HasSubstr("no space left on device"));

    // (b) Writes are refused saying why.
    absl::StatusOr<v1::Job> refused = m->Submit(SmallSpec(1));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
    EXPECT_THAT(refused.status().message(), HasSubstr("no space left on device"));
    EXPECT_THAT(refused.status().message(), Not(HasSubstr("cannot rollback")));
    absl::StatusOr<v1::Job> resumed = m->Resume(id);
    ASSERT_FALSE(resumed.ok());
    if (ended.state() == v1::INTERRUPTED) {  // resumable, but the QUEUED event cannot be written
      EXPECT_EQ(resumed.status().code(), absl::StatusCode::kResourceExhausted)
          << resumed.status();
      EXPECT_THAT(resumed.status().message(), HasSubstr("no space left on device"));
    } else {
      EXPECT_EQ(resumed.status().code(), absl::StatusCode::kFailedPrecondition)
          << resumed.status();
    }
  }
  const std::vector<v1::JobEvent> recorded = Recorded(live.events);
  const v1::JobState live_end = live.events.back().state().state();

  // (c) A restart on the full disk: the daemon starts and serves reads.
  {
    std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
    ASSERT_TRUE(m);
    EXPECT_THAT(m->List(v1::JOB_STATE_UNSPECIFIED), ::testing::SizeIs(2));
    absl::StatusOr<v1::Job> done = m->Get(done_id);
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(done->state(), v1::SUCCEEDED);
    ModelInput in;
    absl::StatusOr<v1::PredictResponse> p = m->Predict(done_id, in);
    ASSERT_TRUE(p.ok()) << p.status();
    absl::StatusOr<v1::Job> job = m->Get(id);
    ASSERT_TRUE(job.ok()) << job.status();
    EXPECT_EQ(job->state(), live_end);
    std::vector<v1::JobEvent> log = StoredLog(*m, id);
    ASSERT_GE(log.size(), recorded.size());
    for (size_t i = 0; i < recorded.size(); ++i) {
      EXPECT_EQ(log[i].SerializeAsString(), recorded[i].SerializeAsString()) << "event " << i;
    }
    EXPECT_EQ(log.back().state().state(), live_end);
    absl::StatusOr<v1::Job> refused = m->Submit(SmallSpec(1));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  }

  // With space again, the database holds the live stream's recorded events and the end state
  // the followers were shown.
  mt::testing::FreeDisk(dir);
  std::unique_ptr<JobManager> m = MustCreate(MakeOptions(dir));
  ASSERT_TRUE(m);
  std::vector<v1::JobEvent> log = StoredLog(*m, id);
  ExpectWellFormed(log, id);
  ASSERT_GE(log.size(), recorded.size());
  for (size_t i = 0; i < recorded.size(); ++i) {
    if (i + 1 == recorded.size() && recorded[i].terminal()) break;  // compared below
    EXPECT_EQ(log[i].SerializeAsString(), recorded[i].SerializeAsString()) << "event " << i;
  }
  EXPECT_EQ(log.size(), recorded.size() + (recorded.back().terminal() ? 0 : 1));
  EXPECT_EQ(log.back().state().state(), live_end);
  EXPECT_EQ(m->Get(id)->state(), live_end);
  // An interrupted job can be resumed now.
  if (live_end == v1::INTERRUPTED) {
    absl::StatusOr<v1::Job> resumed = m->Resume(id);
    EXPECT_TRUE(resumed.ok()) << resumed.status();
    ASSERT_TRUE(m->Cancel(id, std::chrono::steady_clock::now() + kDeadline).ok());
  }

  // A clean stop leaves no WAL index file (-shm) beside the database; on a full disk a restart
  // cannot create one, and still starts (the index kept in memory) and serves reads.
  const std::vector<v1::JobEvent> before = StoredLog(*m, id);
  const v1::JobState state_before = m->Get(id)->state();
  m.reset();
  ASSERT_FALSE(std::filesystem::exists(dir + "/mt.db-shm"));
  ASSERT_GT(mt::testing::FillDisk(dir), 0u);
  m = MustCreate(MakeOptions(dir));
  ASSERT_TRUE(m);
  EXPECT_THAT(m->List(v1::JOB_STATE_UNSPECIFIED), ::testing::SizeIs(2));
  EXPECT_EQ(m->Get(id)->state(), state_before);
  EXPECT_EQ(Serialized(StoredLog(*m, id)), Serialized(before));
  absl::StatusOr<v1::Job> refused = m->Submit(SmallSpec(1));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("no space left on device"));
}

}  // namespace
}  // namespace mt::server
