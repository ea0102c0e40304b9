// Shared by the job manager's tests: a tiny synthetic MNIST written as IDX files, small job
// specs, waits that poll against a generous deadline, and stream followers that read a job's
// events the way the gRPC glue does.
#ifndef MT_SERVER_JOB_MANAGER_TEST_UTIL_H_
#define MT_SERVER_JOB_MANAGER_TEST_UTIL_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/png.h"
#include "engine/data/mnist.h"
#include "server/job_manager.h"
#include "tests/server/fixtures.h"

namespace mt::server::jm_testing {

inline constexpr auto kDeadline = std::chrono::seconds(90);

std::string TmpRoot();
// A fresh directory for one test's state (the integration tests' helper).
using ::mt::testing::FreshDir;
// The held-out split of DataDir()'s MNIST (60 images).
const data::MnistSplit& TestDigits();
// <TEST_TMPDIR>/data/mnist with 240 training and 60 test images, written once per process.
const std::string& DataDir();
Options MakeOptions(const std::string& state_dir, int max_running = 2);
// 200 training images, batch 32, one thread, seed 7.
v1::JobSpec SmallSpec(int64_t epochs);
std::unique_ptr<JobManager> MustCreate(const Options& o);

// Polls Get until `pred` holds; fails the test at the deadline.
v1::Job WaitFor(JobManager& m, const std::string& id,
                const std::function<bool(const v1::Job&)>& pred, const std::string& what);
bool Terminal(const v1::Job& j);
v1::Job WaitTerminal(JobManager& m, const std::string& id);

struct Stream {
  std::vector<v1::JobEvent> events;  // persisted events and the final non-persisted one
  int progress = 0;
  bool finished = false;
};
// Follows a job's stream from `from_seq` the way the gRPC glue does, until it finishes.
Stream Follow(JobManager& m, const std::string& id, int64_t from_seq = 1);
std::vector<std::string> Serialized(const std::vector<v1::JobEvent>& events);
// Checks what every complete log shares: seqs 1..n without gaps, one terminal event, last.
void ExpectWellFormed(const std::vector<v1::JobEvent>& events, const std::string& id);
std::vector<int64_t> EpochsOf(const std::vector<v1::JobEvent>& events);
std::vector<v1::JobState> StatesOf(const std::vector<v1::JobEvent>& events);

// A clean 28x28 digit of class k, white on black.
io::GrayImage CleanDigit(int k);
// An RGB PNG written with libpng's own writer (independent of common/png's encoder).
std::string RgbPng(const io::GrayImage& gray);

}  // namespace mt::server::jm_testing

#endif  // MT_SERVER_JOB_MANAGER_TEST_UTIL_H_
