#include "client/format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mt::client {
namespace {

using ::testing::HasSubstr;

v1::EpochMetrics Epoch3() {
  v1::EpochMetrics m;
  m.set_epoch(3);
  m.set_train_loss(0.04123);
  m.set_train_accuracy(0.98713);
  m.set_valid_accuracy(0.991);
  m.set_valid_correct(9910);
  m.set_valid_total(10000);
  m.set_seconds(4.12);
  m.set_samples_per_second(11000.4);
  return m;
}

TEST(EpochLine, MatchesMtTrain) {
  EXPECT_EQ(EpochLine(Epoch3()),
            "Epoch 3 loss 0.0412 train acc 98.71% valid acc 99.10% (9910/10000) time 4.1s "
            "(11000 samples/s)");
}

TEST(StateLine, WithAndWithoutMessage) {
  v1::StateChange s;
  s.set_state(v1::RUNNING);
  EXPECT_EQ(StateLine(s), "[state] RUNNING");
  s.set_message("on cpu, resumed after epoch 3");
  EXPECT_EQ(StateLine(s), "[state] RUNNING: on cpu, resumed after epoch 3");
  s.set_state(static_cast<v1::JobState>(42));
  s.clear_message();
  EXPECT_EQ(StateLine(s), "[state] UNKNOWN(42)");
}

TEST(FinalLine, WithAndWithoutEpochs) {
  EXPECT_EQ(FinalLine(v1::SUCCEEDED, 0.9925, 6),
            "Final state: SUCCEEDED; best valid acc 99.25% (epoch 6)");
  EXPECT_EQ(FinalLine(v1::FAILED, 0, 0),
            "Final state: FAILED; best valid acc - (no epoch finished)");
}

TEST(FormatBytes, Units) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(int64_t{3} << 30), "3.0 GiB");
}

TEST(FormatTime, Utc) {
  EXPECT_EQ(FormatTime(1795760786000, /*utc=*/true), "2026-11-27 06:26:26");
  EXPECT_EQ(FormatTime(0, true), "-");
}

TEST(Table, AlignsColumnsAndTrimsTrailingSpace) {
  EXPECT_EQ(Table({"A", "NUM", "C"}, {{"xx", "1", ""}, {"y", "1234", "z"}},
                  {Align::kLeft, Align::kRight}),
            "A    NUM  C\n"
            "xx     1\n"
            "y   1234  z\n");
  // Widths count characters, not UTF-8 bytes.
  EXPECT_EQ(Table({"K", "V"}, {{"\u00e9t\u00e9", "1"}, {"abcd", "2"}}),
            "K     V\n"
            "\u00e9t\u00e9   1\n"
            "abcd  2\n");
}

v1::Job SampleJob() {
  v1::Job j;
  j.set_id("a1b2");
  j.mutable_spec()->set_task("mnist");
  j.mutable_spec()->set_model("lenet5");
  j.mutable_spec()->set_epochs(10);
  j.mutable_spec()->set_batch_size(64);
  j.mutable_spec()->set_learning_rate(0.05);
  j.mutable_spec()->set_optimizer("sgd");
  j.mutable_spec()->set_momentum(0.9);
  j.mutable_spec()->set_lr_decay(0.7);
  j.mutable_spec()->set_seed(1);
  j.set_state(v1::RUNNING);
  j.set_device("cpu");
  j.set_epochs_done(3);
  j.set_best_valid_accuracy(0.991);
  j.set_best_epoch(3);
  *j.mutable_last_epoch() = Epoch3();
  j.set_created_unix_ms(1795760786000);
  j.set_updated_unix_ms(1795760800000);
  j.set_last_seq(5);
  return j;
}

TEST(JobsTable, ExactText) {
  v1::Job a = SampleJob();
  v1::Job b;
  b.set_id("c3");
  b.mutable_spec()->set_task("sst2");
  b.mutable_spec()->set_model("kim_cnn");
  b.mutable_spec()->set_epochs(12);
  b.set_state(v1::QUEUED);
  b.set_device("cpu");
  b.set_waiting_reason("1 job ahead on cpu");
  b.set_created_unix_ms(1795760900000);
  EXPECT_EQ(JobsTable({b, a}, /*utc=*/true),
            "ID    STATE    TASK   MODEL    DEVICE  EPOCHS        BEST VALID  CREATED"
            "              NOTE\n"
            "c3    QUEUED   sst2   kim_cnn  cpu       0/12                 -  2026-11-27 06:28:20"
            "  1 job ahead on cpu\n"
            "a1b2  RUNNING  mnist  lenet5   cpu       3/10  99.10% (epoch 3)  2026-11-27 06:26:26"
            "\n");
}

TEST(JobsTable, LongNotesAreCut) {
  v1::Job j = SampleJob();
  j.set_state(v1::FAILED);
  j.set_error(std::string(100, 'e'));
  std::string table = JobsTable({j}, true);
  EXPECT_THAT(table, HasSubstr(std::string(59, 'e') + "\u2026\n"));
  EXPECT_THAT(table, ::testing::Not(HasSubstr(std::string(60, 'e'))));
}

TEST(DevicesTable, ExactText) {
  v1::Device cpu;
  cpu.set_name("cpu");
  cpu.set_kind("cpu");
  cpu.set_description("AMD EPYC");
  cpu.set_cores(16);
  cpu.set_memory_bytes(int64_t{128} << 30);
  cpu.set_max_running(1);
  cpu.set_running(1);
  cpu.set_queued(2);
  v1::Device gpu;
  gpu.set_name("cuda:0");
  gpu.set_kind("cuda");
  gpu.set_description("NVIDIA H100");
  gpu.set_memory_bytes(int64_t{80} << 30);
  gpu.set_max_running(1);
  EXPECT_EQ(DevicesTable({cpu, gpu}),
            "NAME    KIND  RUNNING  QUEUED  CORES     MEMORY  DESCRIPTION\n"
            "cpu     cpu       1/1       2     16  128.0 GiB  AMD EPYC\n"
            "cuda:0  cuda      0/1       0      -   80.0 GiB  NVIDIA H100\n");
}

TEST(JobDetails, ExactText) {
  EXPECT_EQ(JobDetails(SampleJob(), /*utc=*/true),
            "id:              a1b2\n"
            "state:           RUNNING\n"
            "device:          cpu\n"
            "task:            mnist\n"
            "model:           lenet5\n"
            "epochs:          3 of 10 done\n"
            "best valid acc:  99.10% (epoch 3)\n"
            "last epoch:      Epoch 3 loss 0.0412 train acc 98.71% valid acc 99.10% (9910/10000)"
            " time 4.1s (11000 samples/s)\n"
            "created:         2026-11-27 06:26:26\n"
            "updated:         2026-11-27 06:26:40\n"
            "events:          5\n"
            "batch size:      64\n"
            "learning rate:   0.05\n"
            "optimizer:       sgd\n"
            "momentum:        0.9\n"
            "lr decay:        0.7\n"
            "train size:      all\n"
            "valid size:      all\n"
            "seed:            1\n"
            "threads:         all cores\n");
}

TEST(JobDetails, NameAndLiveProgress) {
  v1::Job j = SampleJob();
  j.mutable_spec()->set_name("baseline");
  v1::BatchProgress* p = j.mutable_progress();
  p->set_epoch(4);
  p->set_epochs(10);
  p->set_batch(225);
  p->set_num_batches(469);
  p->set_mean_loss(0.0824);
  p->set_samples_per_second(5800);
  p->set_eta_seconds(754);
  const std::string details = JobDetails(j, true);
  EXPECT_THAT(details, HasSubstr("id:              a1b2\n"
                                 "name:            baseline\n"
                                 "state:           RUNNING\n"));
  // The bar takes what 80 columns leave after the key.
  EXPECT_THAT(details, HasSubstr("epochs:          3 of 10 done\n"
                                 "progress:        epoch 4/10 [###-----] 47% 225/469 loss "
                                 "0.082 5.8k/s ETA 12m34s\n"
                                 "best valid acc:  99.10% (epoch 3)\n"));
  // A finished job's last progress means nothing.
  j.set_state(v1::SUCCEEDED);
  EXPECT_THAT(JobDetails(j, true), ::testing::Not(HasSubstr("progress:")));
}

TEST(EventTime, TimeOfDayTodayDateBefore) {
  const int64_t now = 1795760900000;  // 2026-11-27 06:28:20 UTC
  EXPECT_EQ(EventTime(1795760786000, now, true), "06:26:26");
  EXPECT_EQ(EventTime(1795760786000 - 86400000, now, true), "11-26 06:26:26");
  EXPECT_EQ(EventTime(0, now, true), "");
}

TEST(DeleteAndPrune, Text) {
  v1::DeleteJobResponse d;
  d.set_job_id("job-000003");
  d.set_bytes_freed(1258291);
  EXPECT_EQ(DeletedLine(d), "Deleted job job-000003 (1.2 MiB of files)");
  v1::PruneJobsResponse r;
  EXPECT_EQ(PruneText(r, true, "x"), "No finished jobs to prune.\n");
  r.add_job_ids("job-000002");
  r.add_job_ids("job-000001");
  r.set_bytes_freed(2048);
  EXPECT_EQ(PruneText(r, true, "mt-client prune --all --yes"),
            "Would delete 2 jobs (2.0 KiB of files): job-000002 job-000001\n"
            "Delete them with: mt-client prune --all --yes\n");
  EXPECT_EQ(PruneText(r, false, "unused"),
            "Deleted 2 jobs (2.0 KiB of files): job-000002 job-000001\n");
}

TEST(JobDetails, QueuedAndFailedSayWhy) {
  v1::Job j = SampleJob();
  j.set_state(v1::FAILED);
  j.set_error("out of memory");
  j.clear_device();
  EXPECT_THAT(JobDetails(j, true), HasSubstr("state:           FAILED\n"
                                             "error:           out of memory\n"
                                             "device:          -\n"));
}

TEST(PredictionText, DigitsWithLabel) {
  v1::PredictResponse r;
  for (double p : {0.0, 0.25, 0.75}) r.add_probabilities(p);
  r.set_predicted_class(2);
  r.set_label(1);
  r.set_checkpoint_epoch(4);
  EXPECT_EQ(PredictionText(r),
            "CLASS  PROBABILITY\n"
            "    0       0.0000\n"
            "    1       0.2500  ########\n"
            "    2       0.7500  #######################  <- predicted\n"
            "predicted class: 2; true label: 1 (wrong); checkpoint of epoch 4\n");
}

// A two-class SST-2 answer without a label, and how it reads: the same whether the class names
// come from the daemon or from the built-in fallback.
v1::PredictResponse Sst2Answer() {
  v1::PredictResponse r;
  r.add_probabilities(0.1);
  r.add_probabilities(0.9);
  r.set_predicted_class(1);
  r.set_label(-1);
  return r;
}
constexpr char kSst2AnswerText[] =
    "CLASS       PROBABILITY\n"
    "0 negative       0.1000  ###\n"
    "1 positive       0.9000  ###########################  <- predicted\n"
    "predicted class: 1 (positive)\n";

TEST(PredictionText, SentimentNamesWithoutLabel) {
  EXPECT_EQ(PredictionText(Sst2Answer()), kSst2AnswerText);
}

TEST(PredictionText, ClassNamesFromTheDaemon) {
  v1::PredictResponse r;
  for (double p : {0.2, 0.5, 0.3}) r.add_probabilities(p);
  for (const char* n : {"cat", "dog", "bird"}) r.add_class_names(n);
  r.set_predicted_class(1);
  r.set_label(1);
  EXPECT_EQ(PredictionText(r),
            "CLASS   PROBABILITY\n"
            "0 cat        0.2000  ######\n"
            "1 dog        0.5000  ###############  <- predicted\n"
            "2 bird       0.3000  #########\n"
            "predicted class: 1 (dog); true label: 1 (correct)\n");
  // SST-2's names from the daemon read as the built-in fallback does.
  v1::PredictResponse s = Sst2Answer();
  s.add_class_names("negative");
  s.add_class_names("positive");
  EXPECT_EQ(PredictionText(s), kSst2AnswerText);
}

TEST(PredictionText, DigitsNamedByTheirIdsStayIds) {
  v1::PredictResponse r;
  for (double p : {0.0, 0.25, 0.75}) r.add_probabilities(p);
  for (const char* n : {"0", "1", "2"}) r.add_class_names(n);
  r.set_predicted_class(2);
  r.set_label(1);
  r.set_checkpoint_epoch(4);
  EXPECT_EQ(PredictionText(r),
            "CLASS  PROBABILITY\n"
            "    0       0.0000\n"
            "    1       0.2500  ########\n"
            "    2       0.7500  #######################  <- predicted\n"
            "predicted class: 2; true label: 1 (wrong); checkpoint of epoch 4\n");
}

TEST(ToJson, SnakeCaseWithDefaultsAndEnumNames) {
  v1::JobEvent e;
  e.set_job_id("j");
  e.set_seq(4);
  e.mutable_state()->set_state(v1::QUEUED);
  EXPECT_EQ(ToJson(e, true),
            "{\"job_id\":\"j\",\"seq\":\"4\",\"unix_ms\":\"0\",\"terminal\":false,"
            "\"state\":{\"state\":\"QUEUED\",\"message\":\"\"}}");
  EXPECT_THAT(ToJson(e, false), HasSubstr("\n"));
  v1::ListJobsResponse empty;
  EXPECT_EQ(ToJson(empty, true), "{\"jobs\":[]}");
}

}  // namespace
}  // namespace mt::client
