// The one-line progress display of a followed job, laid out for a given terminal width:
//
//   epoch 2/5 [##############----------------] 47% 225/469 loss 0.082 5.8k/s ETA 3s
//
// It never takes the terminal's last column (a line that reaches it wraps on some terminals,
// and every later "\r" redraw then leaves a stale copy behind). When the width is short it
// drops the bar first, then the fields in order of use (batch count, speed, loss, ETA), then
// the word "epoch", and only then cuts the text. After an epoch's last batch the trainer
// validates, which takes a while with no batches to report: the line says "validating…" then.
#ifndef MT_CLIENT_PROGRESS_LINE_H_
#define MT_CLIENT_PROGRESS_LINE_H_

#include <cstdint>
#include <string>

#include "proto/training.pb.h"

namespace mt::client {

struct ProgressView {
  int64_t epoch = 0;
  int64_t epochs = 0;  // the job's total; 0 = unknown
  int64_t batch = 0;   // 1-based, of num_batches
  int64_t num_batches = 0;
  double loss = 0;                // mean over this epoch's batches so far
  double samples_per_second = 0;  // 0 = unknown
  double eta_seconds = -1;        // until the last epoch's training ends; < 0 = unknown
};

// From the daemon's progress event (epochs, speed and ETA are 0 from daemons that lack them).
ProgressView ViewOf(const v1::BatchProgress& p);

// The line for a terminal `width` columns wide (DisplayWidth(result) < width for width >= 2).
std::string ProgressLine(const ProgressView& v, int width);

// "950/s", "5.8k/s", "12k/s", "1.2M/s".
std::string FormatRate(double per_second);
// "3s", "59s", "1m05s", "2h03m", "3d04h".
std::string FormatDuration(double seconds);

}  // namespace mt::client

#endif  // MT_CLIENT_PROGRESS_LINE_H_
