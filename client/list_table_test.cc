#include "client/list_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "client/text.h"

namespace mt::client {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1795760900000;  // 2026-11-27 06:28:20 UTC

TEST(RelativeTime, Steps) {
  EXPECT_EQ(RelativeTime(kNow, kNow, true), "just now");
  EXPECT_EQ(RelativeTime(kNow - 4999, kNow, true), "just now");
  EXPECT_EQ(RelativeTime(kNow - 45000, kNow, true), "45s ago");
  EXPECT_EQ(RelativeTime(kNow - 180000, kNow, true), "3m ago");
  EXPECT_EQ(RelativeTime(kNow - 3599000, kNow, true), "59m ago");
  EXPECT_EQ(RelativeTime(kNow - 5 * 3600000, kNow, true), "5h ago");
  EXPECT_EQ(RelativeTime(kNow - 2 * 86400000LL, kNow, true), "2d ago");
  EXPECT_EQ(RelativeTime(kNow - 29 * 86400000LL, kNow, true), "29d ago");
  EXPECT_EQ(RelativeTime(kNow - 60 * 86400000LL, kNow, true), "2026-09-28");
  EXPECT_EQ(RelativeTime(kNow + 60000, kNow, true), "just now");  // the daemon's clock is ahead
  EXPECT_EQ(RelativeTime(0, kNow, true), "-");
}

TEST(FitTable, ShrinksInOrderOnlyAsFarAsNeeded) {
  const std::vector<std::string> header = {"A", "B", "NOTE"};
  const std::vector<std::vector<std::string>> rows = {{"aaaa", "bbbbbbbb", "a long note here"}};
  // Natural width: 4 + 8 + 16 + 4 = 32.
  EXPECT_EQ(FitTable(header, rows, {}, {{2, 5}, {1, 3}}, 40),
            "A     B         NOTE\naaaa  bbbbbbbb  a long note here\n");
  EXPECT_EQ(FitTable(header, rows, {}, {{2, 5}, {1, 3}}, 30),
            "A     B         NOTE\naaaa  bbbbbbbb  a long note h\u2026\n");
  // The note to 5, then B to what is left.
  EXPECT_EQ(FitTable(header, rows, {}, {{2, 5}, {1, 3}}, 20),
            "A     B        NOTE\naaaa  bbbbbb\u2026  a lo\u2026\n");
  // A min of 0 cuts the column while 6 characters remain, else drops it (and its separator).
  EXPECT_EQ(FitTable(header, rows, {}, {{2, 0}}, 22),
            "A     B         NOTE\naaaa  bbbbbbbb  a lon\u2026\n");
  EXPECT_EQ(FitTable(header, rows, {}, {{2, 0}}, 21), "A     B\naaaa  bbbbbbbb\n");
}

std::vector<v1::Job> Jobs() {
  v1::Job a;
  a.set_id("job-000012");
  a.set_state(v1::RUNNING);
  a.mutable_spec()->set_task("mnist");
  a.mutable_spec()->set_model("lenet5");
  a.mutable_spec()->set_epochs(10);
  a.set_epochs_done(3);
  a.set_best_valid_accuracy(0.991);
  a.set_best_epoch(3);
  a.set_device("cpu");
  a.set_created_unix_ms(kNow - 180000);
  v1::Job b;
  b.set_id("job-000013");
  b.set_state(v1::QUEUED);
  b.mutable_spec()->set_task("sst2");
  b.mutable_spec()->set_model("kim_cnn");
  b.mutable_spec()->set_epochs(12);
  b.set_waiting_reason("1 job ahead on cpu");
  b.set_created_unix_ms(kNow - 2000);
  v1::Job c;
  c.set_id("job-000009");
  c.set_state(v1::FAILED);
  c.mutable_spec()->set_task("mnist");
  c.mutable_spec()->set_model("minitorch_mnist");
  c.mutable_spec()->set_epochs(5);
  c.set_epochs_done(1);
  c.set_best_valid_accuracy(0.5);
  c.set_best_epoch(1);
  c.set_error(
      "out of memory while allocating the activations of conv2 for a batch of 4096 "
      "examples; try a smaller batch_size");
  c.set_created_unix_ms(kNow - 2 * 86400000LL);
  return {b, a, c};
}

void ExpectFits(const std::string& table, size_t width) {
  for (absl::string_view line : absl::StrSplit(table, '\n', absl::SkipEmpty())) {
    EXPECT_LE(DisplayWidth(std::string(line)), width) << line;
  }
}

TEST(JobsListTable, ExactTextIn80Columns) {
  const std::string table = JobsListTable(Jobs(), kNow, 80, true);
  EXPECT_EQ(
      table,
      "ID          STATE    TASK                 EPOCHS    BEST  CREATED   NOTE\n"
      "job-000013  QUEUED   sst2/kim_cnn           0/12       -  just now  1 job ahead\u2026\n"
      "job-000012  RUNNING  mnist/lenet5           3/10  99.10%  3m ago\n"
      "job-000009  FAILED   mnist/minitorch_mn\u2026     1/5  50.00%  2d ago    out of "
      "memo\u2026\n");
  ExpectFits(table, 80);
}

TEST(JobsListTable, NamesAndNarrowTerminals) {
  std::vector<v1::Job> jobs = Jobs();
  jobs[1].mutable_spec()->set_name("baseline with a rather long name");
  const std::string table = JobsListTable(jobs, kNow, 80, true);
  EXPECT_THAT(table, HasSubstr("NAME"));
  EXPECT_THAT(table, HasSubstr("baseline\u2026"));
  EXPECT_THAT(table, HasSubstr("NOTE"));  // one column over: the note is cut, not dropped
  ExpectFits(table, 80);
  // Wide terminals show everything.
  const std::string wide = JobsListTable(jobs, kNow, 300, true);
  EXPECT_THAT(wide, HasSubstr("baseline with a rather long name"));
  EXPECT_THAT(wide, HasSubstr("try a smaller batch_size\n"));
  // Narrow ones lose the note first, then what they must.
  const std::string narrow = JobsListTable(Jobs(), kNow, 60, true);
  EXPECT_THAT(narrow, ::testing::Not(HasSubstr("NOTE")));
  ExpectFits(narrow, 60);
}

}  // namespace
}  // namespace mt::client
