// The command line as a user meets it, with the real binaries: a daemon (started with dashed
// flags) on loopback and mt-client processes against it, plus mt-train. --help and --version
// everywhere; named jobs in a `list` that fits 80 columns; `logs` with times; `status`; predict
// and activations showing and saving their input, from the checkpoint --epoch names; --image of
// any size; delete and prune; errors in the command line's words.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <png.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/png.h"
#include "engine/data/mnist_fixture.h"
#include "tests/server/fixtures.h"
#include "tests/server/process.h"

namespace mt::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t Columns(absl::string_view line) {
  size_t n = 0;
  for (unsigned char c : line) n += (c & 0xC0) != 0x80;
  return n;
}

// An RGB PNG `w` x `h`: white paper with a dark vertical stroke in the middle.
std::string PaperDigitPng(int w, int h) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3, 255);
  for (int y = h / 5; y < h * 4 / 5; ++y) {
    for (int x = w / 2 - w / 20; x < w / 2 + w / 20; ++x) {
      for (int c = 0; c < 3; ++c) px[(static_cast<size_t>(y) * w + x) * 3 + c] = 20;
    }
  }
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  image.width = w;
  image.height = h;
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  EXPECT_TRUE(png_image_write_to_memory(&image, nullptr, &size, 0, px.data(), 0, nullptr));
  std::string out(size, '\0');
  EXPECT_TRUE(png_image_write_to_memory(&image, out.data(), &size, 0, px.data(), 0, nullptr));
  out.resize(size);
  return out;
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_dir_ = new std::string(FreshDir("cli-data"));
    data::testing::WriteMnistIdx(*data_dir_, data::testing::SyntheticDigits(256, 1),
                                 data::testing::SyntheticDigits(64, 2));
    daemon_ = new DaemonProcess();
    // Dashed, as mt-client spells flags.
    ASSERT_TRUE(daemon_->Start({"--listen=127.0.0.1:0", "--state-dir=" + FreshDir("cli-state"),
                                "--data-dir=" + *data_dir_, "--threads=1"}))
        << daemon_->error();
  }
  static void TearDownTestSuite() {
    if (daemon_) EXPECT_EQ(daemon_->Stop(), 0);
    delete daemon_;
    delete data_dir_;
  }

  static ProcessResult Client(std::vector<std::string> args) {
    args.insert(args.begin(), {Runfile("client/mt-client"), "--server",
                               "127.0.0.1:" + std::to_string(daemon_->port())});
    return RunProcess(args, {"MT_TOKEN=", "COLUMNS="}, 300);
  }

  // Submits a small mnist job and follows it to the end; returns its id.
  static std::string Train(const std::vector<std::string>& extra, std::string* out = nullptr) {
    std::vector<std::string> args = {
        "submit",       "mnist", "--epochs",  "2", "--train-size", "128", "--valid-size", "32",
        "--batch-size", "32",    "--threads", "1", "--follow"};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Client(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    if (out) *out = r.out;
    std::smatch m;
    const std::string text = r.out;
    EXPECT_TRUE(std::regex_search(text, m, std::regex("Submitted job (job-[0-9]+)"))) << r.out;
    return m.size() > 1 ? m[1].str() : "";
  }

  static inline std::string* data_dir_ = nullptr;
  static inline DaemonProcess* daemon_ = nullptr;
};

TEST_F(CliTest, HelpExitsZeroAndVersionEverywhere) {
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{Runfile("client/mt-client"), "--help"},
                                             {Runfile("client/mt-client"), "predict", "--help"},
                                             {Runfile("client/mt-client"), "help", "prune"},
                                             {Runfile("engine/train/mt-train"), "--help"},
                                             {Runfile("server/server"), "--help"}}) {
    ProcessResult r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 0) << argv.back() << r.err;
    EXPECT_THAT(r.out, Not(::testing::IsEmpty()));
  }
  EXPECT_THAT(RunProcess({Runfile("engine/train/mt-train"), "--help"}).out,
              HasSubstr("--train_size"));
  EXPECT_THAT(RunProcess({Runfile("server/server"), "--help"}).out, HasSubstr("--state_dir"));
  EXPECT_EQ(RunProcess({Runfile("client/mt-client"), "--version"}).out, "mt-client 0.1.0\n");
  EXPECT_EQ(RunProcess({Runfile("engine/train/mt-train"), "--version"}).out, "mt-train 0.1.0\n");
  EXPECT_EQ(RunProcess({Runfile("server/server"), "--version"}).out, "mt-daemon 0.1.0\n");
}

TEST_F(CliTest, MtTrainTakesDashedFlags) {
  ProcessResult r = RunProcess({Runfile("engine/train/mt-train"), "--task=mnist", "--train-size=64",
                                "--valid-size", "32", "--batch-size=32", "--epochs=1",
                                "--threads=1", "--data-dir=" + *data_dir_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(" 64 examples"));
  EXPECT_THAT(r.out, HasSubstr(" 32 examples"));
  EXPECT_THAT(r.out, HasSubstr("Epoch 1 loss"));
}

TEST_F(CliTest, NamedJobInListStatusAndTimedLogs) {
  std::string followed;
  const std::string id = Train({"--name", "first run"}, &followed);
  // Not a terminal: no progress bar, no carriage returns; every event line starts with a time.
  EXPECT_THAT(followed, Not(HasSubstr("\r")));
  EXPECT_TRUE(std::regex_search(followed, std::regex("\n[0-9]{2}:[0-9]{2}:[0-9]{2} Epoch 2 loss")))
      << followed;
  ProcessResult logs = Client({"logs", id});
  EXPECT_EQ(logs.exit_code, 0);
  for (absl::string_view line : absl::StrSplit(logs.out, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "Final state: ")) continue;  // a summary, not an event
    EXPECT_TRUE(std::regex_match(std::string(line), std::regex("[0-9]{2}:[0-9]{2}:[0-9]{2} .*")))
        << line;
  }

  ProcessResult list = Client({"list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, StartsWith("ID          STATE      NAME       TASK"));
  EXPECT_THAT(list.out, HasSubstr(id + "  SUCCEEDED  first run  mnist/lenet5"));
  EXPECT_TRUE(std::regex_search(list.out, std::regex("(just now|[0-9]+s ago)")));
  for (absl::string_view line : absl::StrSplit(list.out, '\n', absl::SkipEmpty())) {
    EXPECT_LE(Columns(line), 80u) << line;
  }
  ProcessResult status = Client({"status", id});
  EXPECT_THAT(status.out, HasSubstr("name:            first run\n"));

  ProcessResult bad = Client({"status", "job-999999"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "mt-client: no job 'job-999999' (`mt-client list` shows every job)\n");
}

TEST_F(CliTest, PredictAndActivationsShowAndSaveTheirInput) {
  const std::string id = Train({});
  const std::string out = FreshDir("cli-predict");
  ProcessResult r = Client({"predict", id, "--index", "3", "--epoch", "best", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 28 rows of the picture (56 columns at most) before the table.
  const size_t table = r.out.find("CLASS  PROBABILITY");
  ASSERT_NE(table, std::string::npos) << r.out;
  std::vector<std::string> picture =
      absl::StrSplit(r.out.substr(0, table), '\n', absl::SkipEmpty());
  EXPECT_GE(picture.size(), 10u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("input saved to " + out + "/input.png"));
  absl::StatusOr<io::GrayImage> saved = io::DecodePngToGray(Slurp(out + "/input.png"));
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->width, 28);
  EXPECT_EQ(saved->height, 28);

  ProcessResult missing = Client({"predict", id, "--index", "3", "--epoch", "7"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "mt-client: job " + id +
                             " has no checkpoint of epoch 7; it has epochs 1-2 (--epoch N or "
                             "--epoch best)\n");

  // A big colour photo of a dark digit on paper: resized here, with a hint.
  const std::string photo = FreshDir("cli-photo") + "/paper.png";
  std::ofstream(photo, std::ios::binary) << PaperDigitPng(300, 200);
  r = Client({"predict", id, "--image", photo, "--epoch", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("dark digit on a light background"));
  EXPECT_THAT(r.out, HasSubstr("checkpoint of epoch 1"));
  r = Client({"predict", id, "--image", photo, "--invert"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");

  const std::string acts = FreshDir("cli-acts");
  r = Client({"activations", id, "--index", "0", "--out", acts});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A row of its own in the LAYER, SHAPE (empty), FILES table.
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\ninput +" + acts + "/input\\.png\n"))) << r.out;
  EXPECT_TRUE(fs::exists(acts + "/input.png"));
}

TEST_F(CliTest, DeleteAndPrune) {
  const std::string done = Train({});
  // A long job is running (or queued): refused.
  ProcessResult r =
      Client({"submit", "mnist", "--epochs", "500", "--train-size", "128", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  const std::string submitted = r.out;
  ASSERT_TRUE(std::regex_search(submitted, m, std::regex("Submitted job (job-[0-9]+)")));
  const std::string busy = m[1].str();
  r = Client({"delete", busy});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("only finished jobs can be deleted: stop it first with "
                               "`mt-client cancel " +
                               busy + "`"));
  ASSERT_EQ(Client({"cancel", busy}).exit_code, 0);

  r = Client({"delete", done});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex("Deleted job " + done + " \\([0-9.]+ [KM]iB of files\\)\n")))
      << r.out;
  EXPECT_EQ(Client({"status", done}).exit_code, 1);

  // Without --yes only a list; with it, gone.
  r = Client({"prune", "--all"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Would delete"));
  EXPECT_THAT(r.out, HasSubstr(busy));
  EXPECT_THAT(r.out, HasSubstr("mt-client prune --all --yes --server 127.0.0.1:"));
  EXPECT_EQ(Client({"status", busy}).exit_code, 0);
  r = Client({"prune", "--older-than", "1h", "--yes"});
  EXPECT_EQ(r.out, "No finished jobs to prune.\n");
  r = Client({"prune", "--all", "--yes"});
  EXPECT_THAT(r.out, StartsWith("Deleted "));
  EXPECT_EQ(Client({"status", busy}).exit_code, 1);
  r = Client({"prune"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("prune needs --older-than AGE (e.g. 7d) or --all"));
}

}  // namespace
}  // namespace mt::testing
