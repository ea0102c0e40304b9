// The dashboard in a real browser: Debian's chromium, headless, loads the page from a real
// daemon (in this process) while a small synthetic-MNIST job trains, and
//   - the job page's curves gain points while the job runs: across two loads of the page, and
//     within one load (the page counts its points at first drawing and now, without a reload);
//   - the confusion matrix, the misclassified gallery and the activation tiles are drawn;
//   - a screenshot is not blank (PNG decoded here, distinct colours counted).
// Skipped, saying why, only when no chromium is installed (scripts/setup.sh installs it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <png.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <regex>
#include <set>
#include <thread>

#include "engine/data/mnist_fixture.h"
#include "server/service.h"
#include "tests/server/fixtures.h"
#include "tests/server/process.h"

namespace mt::server {
namespace {

using ::testing::HasSubstr;

std::string Chromium() {
  if (const char* env = std::getenv("MT_CHROMIUM"); env && *env) return env;
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

// Distinct RGB colours of a PNG (0 when it cannot be read), and its size.
struct PngStats {
  int width = 0, height = 0;
  size_t colours = 0;
};
PngStats ReadPngStats(const std::string& path) {
  PngStats st;
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) return st;
  image.format = PNG_FORMAT_RGB;
  std::vector<png_byte> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) return st;
  st.width = static_cast<int>(image.width);
  st.height = static_cast<int>(image.height);
  std::set<uint32_t> seen;
  for (size_t i = 0; i + 2 < pixels.size(); i += 3) {
    seen.insert(pixels[i] << 16 | pixels[i + 1] << 8 | pixels[i + 2]);
  }
  st.colours = seen.size();
  return st;
}

// An attribute of the element with `id` in a DOM dump; -1 when absent.
long long Attribute(const std::string& dom, const std::string& id, const std::string& attr) {
  const size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return -1;
  const size_t start = dom.rfind('<', at);
  const size_t end = dom.find('>', at);
  const std::string tag = dom.substr(start, end - start);
  std::smatch m;
  if (!std::regex_search(tag, m, std::regex(attr + "=\"(-?[0-9]+)\""))) return -1;
  return std::stoll(m[1]);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class DashboardBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = Chromium();
    if (chromium_.empty()) {
      GTEST_SKIP() << "no chromium (/usr/bin/chromium): install it with scripts/setup.sh to run "
                      "the dashboard's browser test";
    }
    const std::string data_dir = testing::FreshDir("data");
    data::testing::WriteMnistIdx(data_dir, data::testing::SyntheticDigits(1024, 1),
                                 data::testing::SyntheticDigits(64, 2));
    Options o;
    o.state_dir = testing::FreshDir("state");
    o.data_dir = data_dir;
    o.cpu_threads = 1;
    ServeOptions serve;
    serve.listen = "127.0.0.1:0";
    serve.http_listen = "127.0.0.1:0";
    serve.web_dir = testing::Runfile("web");
    absl::StatusOr<std::unique_ptr<Daemon>> d = Daemon::Start(o, serve);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = std::move(*d);
    profile_ = testing::FreshDir("chromium-profile");
  }

  // Chromium's common flags: headless, as root in a container, its own profile, and a
  // virtual-time budget (ms of the page's timers; network waits do not count) before it
  // dumps the DOM or takes the screenshot.
  std::vector<std::string> Browser(int budget_ms) {
    return {chromium_, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--hide-scrollbars", "--mute-audio",
            "--user-data-dir=" + profile_, "--window-size=1280,1500",
            "--virtual-time-budget=" + std::to_string(budget_ms)};
  }
  std::string Url(const std::string& id) {
    return "http://127.0.0.1:" + std::to_string(daemon_->http_port()) + "/#/job/" + id;
  }
  // Runs chromium; a browser that crashes on a loaded machine (its zygote sometimes does) is
  // started again, up to three times, so only the page's own behaviour can fail the test.
  testing::ProcessResult RunBrowser(const std::vector<std::string>& argv) {
    testing::ProcessResult r;
    for (int attempt = 0; attempt < 3; ++attempt) {
      r = testing::RunProcess(argv, {"HOME=" + profile_}, 180);
      if (r.exited && r.exit_code == 0) break;
    }
    EXPECT_TRUE(r.exited && r.exit_code == 0) << "chromium: " << r.err.substr(0, 2000);
    return r;
  }
  std::string DumpDom(const std::string& id, int budget_ms) {
    return DumpUrl(Url(id), budget_ms);
  }
  std::string DumpUrl(const std::string& url, int budget_ms) {
    std::vector<std::string> argv = Browser(budget_ms);
    argv.push_back("--dump-dom");
    argv.push_back(url);
    return RunBrowser(argv).out;
  }
  v1::Job Job(const std::string& id) {
    absl::StatusOr<v1::Job> j = daemon_->manager()->Get(id);
    EXPECT_TRUE(j.ok()) << j.status();
    return j.ok() ? *j : v1::Job();
  }
  // Until `done(job)` (false when the job stops running first, or after 4 minutes).
  bool WaitFor(const std::string& id, const std::function<bool(const v1::Job&)>& done) {
    for (int i = 0; i < 2400; ++i) {
      const v1::Job j = Job(id);
      if (done(j)) return true;
      if (j.state() != v1::RUNNING && j.state() != v1::QUEUED) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::string chromium_, profile_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(DashboardBrowserTest, CurvesGrowWhileTheJobRunsAndTheScreenshotIsNotBlank) {
  // Long enough to outlast the test (cancelled at the end): 32 batches an epoch.
  v1::JobSpec spec;
  spec.set_task("mnist");
  spec.set_model("lenet5");
  spec.set_epochs(500);
  spec.set_batch_size(32);
  spec.set_threads(1);
  absl::StatusOr<v1::Job> job = daemon_->manager()->Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  const std::string id = job->id();
  // A finished epoch (its confusion matrix and checkpoint) and some loss points first.
  ASSERT_TRUE(WaitFor(id, [](const v1::Job& j) { return j.epochs_done() >= 1; }))
      << Job(id).DebugString();

  const std::string first = DumpDom(id, 3000);
  const long long points1 = Attribute(first, "curve-points", "data-count");
  ASSERT_GT(points1, 0) << first.substr(0, 4000);
  EXPECT_THAT(first, HasSubstr("data-job-state=\"RUNNING\""));
  EXPECT_THAT(first, HasSubstr("id=\"confusion-table\""));
  // The gallery says how many misclassified examples it shows (synthetic digits may have none
  // wrong) and shows that many.
  std::smatch shown;
  ASSERT_TRUE(std::regex_search(first, shown, std::regex("\\(([0-9]+) of ([0-9]+) at epoch")))
      << "no gallery caption";
  EXPECT_EQ(Count(first, "class=\"thumb\""), std::stoul(shown[1]));
  EXPECT_EQ(std::stoul(shown[1]), std::min<unsigned long>(24, std::stoul(shown[2])));

  // More events recorded since that load: a new load must draw more points.
  const int64_t seen = Job(id).last_seq();
  ASSERT_TRUE(WaitFor(id, [&](const v1::Job& j) { return j.last_seq() >= seen + 6; }))
      << Job(id).DebugString();
  // A generous budget: the page long-polls (network time is not counted) and redraws as
  // points arrive; tiles of the activations need the example's fetch to finish too.
  bool grew_without_reload = false;
  long long points2 = -1;
  std::string second;
  for (int attempt = 0; attempt < 3 && !grew_without_reload; ++attempt) {
    second = DumpDom(id, 20000);
    points2 = Attribute(second, "curve-points", "data-count");
    const long long at_first_draw = Attribute(second, "curve-points", "data-first");
    grew_without_reload = points2 > at_first_draw && at_first_draw > 0;
  }
  EXPECT_GT(points2, points1) << "the second load drew no more points than the first";
  EXPECT_TRUE(grew_without_reload)
      << "the page never added points while open (data-first vs data-count)";
  EXPECT_THAT(second, HasSubstr("data-job-state=\"RUNNING\""));
  // The activations of the first misclassified example, beside its input: labelled tiles.
  EXPECT_GE(Count(second, "class=\"tile\""), 6u) << "no activation tiles";
  EXPECT_THAT(second, HasSubstr("conv1 · ch 0"));
  EXPECT_THAT(second, HasSubstr("Input: validation example"));

  // A screenshot of the live job: decoded, and far from blank.
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  const std::string shot =
      std::string(outputs ? outputs : testing::FreshDir("shots").c_str()) + "/dashboard.png";
  std::vector<std::string> argv = Browser(8000);
  argv.push_back("--screenshot=" + shot);
  argv.push_back(Url(id));
  testing::ProcessResult r = RunBrowser(argv);
  ASSERT_TRUE(r.exited && r.exit_code == 0);
  const PngStats st = ReadPngStats(shot);
  EXPECT_EQ(st.width, 1280);
  EXPECT_EQ(st.height, 1500);
  // A blank or error page has a handful of colours; curves, the heat map, digits and viridis
  // tiles have hundreds.
  EXPECT_GT(st.colours, 100u) << shot;
  EXPECT_EQ(Job(id).state(), v1::RUNNING) << "the job must still run for this to be live";

  // The job list: the job's row links to its page and says it runs.
  const std::string list =
      DumpUrl("http://127.0.0.1:" + std::to_string(daemon_->http_port()) + "/#/", 3000);
  EXPECT_THAT(list, HasSubstr("<a href=\"#/job/" + id + "\">" + id + "</a>"));
  EXPECT_THAT(list, HasSubstr("<span class=\"state s-running\">running</span>"));
  EXPECT_THAT(list, HasSubstr("mnist / lenet5"));

  ASSERT_TRUE(daemon_->manager()->Cancel(id).ok());
}

}  // namespace
}  // namespace mt::server
