#include "server/job_manager_test_util.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "engine/data/mnist_fixture.h"

namespace mt::server::jm_testing {

using std::chrono::milliseconds;

std::string TmpRoot() {
  const char* base = std::getenv("TEST_TMPDIR");
  return base ? base : "/tmp";
}

const data::MnistSplit& TestDigits() {
  static const data::MnistSplit* d = new data::MnistSplit(data::testing::SyntheticDigits(60, 2));
  return *d;
}

// <TEST_TMPDIR>/data/mnist with 240 training and 60 test images, written once per process.
const std::string& DataDir() {
  static const std::string* dir = [] {
    auto* d = new std::string(TmpRoot() + "/data");
    data::testing::WriteMnistIdx(*d, data::testing::SyntheticDigits(240, 1), TestDigits());
    return d;
  }();
  return *dir;
}

Options MakeOptions(const std::string& state_dir, int max_running) {
  Options o;
  o.state_dir = state_dir;
  o.data_dir = DataDir();
  o.max_running_per_device = max_running;
  o.cpu_threads = 1;
  return o;
}

v1::JobSpec SmallSpec(int64_t epochs) {
  v1::JobSpec s;
  s.set_task("mnist");
  s.set_epochs(epochs);
  s.set_batch_size(32);
  s.set_train_size(200);
  s.set_valid_size(50);
  s.set_threads(1);
  s.set_seed(7);
  s.set_momentum(-1);  // the model's default
  return s;
}

std::unique_ptr<JobManager> MustCreate(const Options& o) {
  absl::StatusOr<std::unique_ptr<JobManager>> m = JobManager::Create(o);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

// Polls Get until `pred` holds; fails the test at the deadline.
v1::Job WaitFor(JobManager& m, const std::string& id, const std::function<bool(const v1::Job&)>& pred,
                const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  v1::Job job;
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<v1::Job> j = m.Get(id);
    EXPECT_TRUE(j.ok()) << j.status();
    if (!j.ok()) return job;
    job = *j;
    if (pred(job)) return job;
    std::this_thread::sleep_for(milliseconds(10));
  }
  ADD_FAILURE() << "timed out waiting for " << what << "; job is " << job.DebugString();
  return job;
}

bool Terminal(const v1::Job& j) {
  return j.state() == v1::SUCCEEDED || j.state() == v1::FAILED || j.state() == v1::CANCELLED ||
         j.state() == v1::INTERRUPTED;
}

v1::Job WaitTerminal(JobManager& m, const std::string& id) {
  return WaitFor(m, id, Terminal, "a terminal state");
}


// Follows a job's stream from `from_seq` the way the gRPC glue does, until it finishes.
Stream Follow(JobManager& m, const std::string& id, int64_t from_seq) {
  Stream s;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  int64_t next = from_seq, version = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<WatchBatch> b = m.Watch(id, next, /*follow=*/true, version, milliseconds(200));
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok()) return s;
    for (const v1::JobEvent& e : b->events) {
      s.events.push_back(e);
      next = std::max(next, e.seq() + 1);
    }
    if (b->has_progress) {
      ++s.progress;
      EXPECT_GT(b->progress_version, version);
      EXPECT_TRUE(b->progress.has_progress());
      version = b->progress_version;
    }
    if (b->finished) {
      s.finished = true;
      return s;
    }
  }
  ADD_FAILURE() << "stream of " << id << " did not finish";
  return s;
}

std::vector<std::string> Serialized(const std::vector<v1::JobEvent>& events) {
  std::vector<std::string> out;
  for (const v1::JobEvent& e : events) out.push_back(e.SerializeAsString());
  return out;
}

// Checks what every complete log shares: seqs 1..n without gaps, one terminal event, last.
void ExpectWellFormed(const std::vector<v1::JobEvent>& events, const std::string& id) {
  ASSERT_FALSE(events.empty());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(events[i].job_id(), id);
    EXPECT_FALSE(events[i].has_progress()) << "progress is never persisted";
    EXPECT_EQ(events[i].terminal(), i + 1 == events.size()) << events[i].DebugString();
  }
}

std::vector<int64_t> EpochsOf(const std::vector<v1::JobEvent>& events) {
  std::vector<int64_t> out;
  for (const v1::JobEvent& e : events) {
    if (e.has_epoch()) out.push_back(e.epoch().epoch());
  }
  return out;
}

std::vector<v1::JobState> StatesOf(const std::vector<v1::JobEvent>& events) {
  std::vector<v1::JobState> out;
  for (const v1::JobEvent& e : events) {
    if (e.has_state()) out.push_back(e.state().state());
  }
  return out;
}

// A clean 28x28 digit of class k, white on black.
io::GrayImage CleanDigit(int k) {
  io::GrayImage img;
  img.width = img.height = 28;
  img.pixels.assign(784, 0);
  const int r0 = 2 + (k / 5) * 12, c0 = 2 + (k % 5) * 5;
  for (int r = r0; r < r0 + 4; ++r) {
    for (int c = c0; c < c0 + 4; ++c) img.pixels[r * 28 + c] = 255;
  }
  return img;
}

// Writes an RGB PNG with libpng's own writer (independent of png_decode's encoder).
std::string RgbPng(const io::GrayImage& gray) {
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(gray.width);
  image.height = static_cast<png_uint_32>(gray.height);
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> rgb;
  for (uint8_t p : gray.pixels) rgb.insert(rgb.end(), {p, p, p});
  png_alloc_size_t size = 0;
  EXPECT_TRUE(png_image_write_to_memory(&image, nullptr, &size, 0, rgb.data(), 0, nullptr));
  std::string out(size, '\0');
  EXPECT_TRUE(png_image_write_to_memory(&image, out.data(), &size, 0, rgb.data(), 0, nullptr));
  out.resize(size);
  return out;
}

}  // namespace mt::server::jm_testing
