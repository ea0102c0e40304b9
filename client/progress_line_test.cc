#include "client/progress_line.h"

#include <gtest/gtest.h>

#include "client/text.h"

namespace mt::client {
namespace {

// The example: epoch 2 of 5, batch 225 of 469, 5.8k samples/s, 3 s left.
ProgressView Example() {
  ProgressView v;
  v.epoch = 2;
  v.epochs = 5;
  v.batch = 225;
  v.num_batches = 469;
  v.loss = 0.0824;
  v.samples_per_second = 5800;
  v.eta_seconds = 3;
  return v;
}

std::string Bar(int filled, int cells) {
  return "[" + std::string(filled, '#') + std::string(cells - filled, '-') + "]";
}

TEST(ProgressLine, ExactTextAtEachWidth) {
  const ProgressView v = Example();
  // Wide: the bar grows to 50 cells and stops; 225/469 = 47.97%, floored.
  EXPECT_EQ(ProgressLine(v, 120),
            "epoch 2/5 " + Bar(23, 50) + " 47% 225/469 loss 0.082 5.8k/s ETA 3s");
  // 80: the bar takes what the fields leave, up to column 79.
  EXPECT_EQ(ProgressLine(v, 80),
            "epoch 2/5 " + Bar(14, 30) + " 47% 225/469 loss 0.082 5.8k/s ETA 3s");
  // 53: too narrow for a useful bar, wide enough for every field.
  EXPECT_EQ(ProgressLine(v, 53), "epoch 2/5 47% 225/469 loss 0.082 5.8k/s ETA 3s");
  // 40: the batch count goes first.
  EXPECT_EQ(ProgressLine(v, 40), "epoch 2/5 47% loss 0.082 5.8k/s ETA 3s");
  // 20: then the speed, the loss and the ETA.
  EXPECT_EQ(ProgressLine(v, 20), "epoch 2/5 47%");
  // Narrower still: the word "epoch", then the text itself is cut.
  EXPECT_EQ(ProgressLine(v, 10), "2/5 47%");
  EXPECT_EQ(ProgressLine(v, 5), "2/5\u2026");
  EXPECT_EQ(ProgressLine(v, 1), "");
  EXPECT_EQ(ProgressLine(v, 0), "");
}

TEST(ProgressLine, NeverReachesTheLastColumn) {
  ProgressView v = Example();
  for (int width = 1; width <= 200; ++width) {
    for (int64_t batch : {0, 1, 225, 468, 469}) {
      v.batch = batch;
      const std::string line = ProgressLine(v, width);
      EXPECT_LT(DisplayWidth(line), static_cast<size_t>(width)) << width << ": " << line;
    }
  }
}

TEST(ProgressLine, ValidatingAfterTheLastBatch) {
  ProgressView v = Example();
  v.batch = 469;
  EXPECT_EQ(ProgressLine(v, 80),
            "epoch 2/5 " + Bar(37, 37) + " validating\u2026 loss 0.082 ETA 3s");
  EXPECT_EQ(ProgressLine(v, 40), "epoch 2/5 validating\u2026 loss 0.082 ETA 3s");
  EXPECT_EQ(ProgressLine(v, 30), "epoch 2/5 validating\u2026 ETA 3s");
}

TEST(ProgressLine, OlderDaemonsAndNonsenseFromTheWire) {
  // No total, speed or ETA: those fields are left out.
  ProgressView v;
  v.epoch = 3;
  v.batch = 62;
  v.num_batches = 100;
  v.loss = 0.04312;
  EXPECT_EQ(ProgressLine(v, 40), "epoch 3 " + Bar(4, 7) + " 62% 62/100 loss 0.043");
  // Past the end is clamped (and reads as validating); no batches at all is 0%.
  v.batch = 250;
  EXPECT_EQ(ProgressLine(v, 30), "epoch 3 validating\u2026");
  v.batch = 5;
  v.num_batches = 0;
  EXPECT_EQ(ProgressLine(v, 30), "epoch 3 " + Bar(0, 5) + " 0% loss 0.043");
  v.num_batches = 10;
  v.batch = -4;
  EXPECT_EQ(ProgressLine(v, 60), "epoch 3 " + Bar(0, 30) + " 0% 0/10 loss 0.043");
}

TEST(ProgressLine, FromTheDaemonsEvent) {
  v1::BatchProgress p;
  p.set_epoch(2);
  p.set_epochs(5);
  p.set_batch(225);
  p.set_num_batches(469);
  p.set_mean_loss(0.0824);
  p.set_samples_per_second(5800);
  p.set_eta_seconds(3);
  EXPECT_EQ(ProgressLine(ViewOf(p), 53), ProgressLine(Example(), 53));
  // Without a speed the ETA means nothing and is not shown.
  p.set_samples_per_second(0);
  EXPECT_EQ(ProgressLine(ViewOf(p), 53), "epoch 2/5 " + Bar(8, 17) + " 47% 225/469 loss 0.082");
}

TEST(FormatRate, Units) {
  EXPECT_EQ(FormatRate(0), "0/s");
  EXPECT_EQ(FormatRate(950.4), "950/s");
  EXPECT_EQ(FormatRate(5800), "5.8k/s");
  EXPECT_EQ(FormatRate(9949), "9.9k/s");
  EXPECT_EQ(FormatRate(12345), "12k/s");
  EXPECT_EQ(FormatRate(1.25e6), "1.2M/s");
  EXPECT_EQ(FormatRate(-3), "0/s");
}

TEST(FormatDuration, Units) {
  EXPECT_EQ(FormatDuration(3.4), "3s");
  EXPECT_EQ(FormatDuration(59.4), "59s");
  EXPECT_EQ(FormatDuration(65), "1m05s");
  EXPECT_EQ(FormatDuration(2 * 3600 + 3 * 60 + 10), "2h03m");
  EXPECT_EQ(FormatDuration(3 * 86400 + 4 * 3600), "3d04h");
  EXPECT_EQ(FormatDuration(-1), "0s");
}

}  // namespace
}  // namespace mt::client
