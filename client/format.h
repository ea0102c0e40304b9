// Everything mt-client prints, as strings, so the exact text is unit-tested without a daemon.
#ifndef MT_CLIENT_FORMAT_H_
#define MT_CLIENT_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "proto/training.pb.h"

namespace mt::client {

// "RUNNING"; "UNKNOWN(7)" for a state this client does not know.
std::string StateName(v1::JobState state);
// SUCCEEDED, FAILED, CANCELLED or INTERRUPTED: the job will not change on its own.
bool IsFinalState(v1::JobState state);

// The line mt-train prints per epoch (no newline):
// "Epoch 3 loss 0.0412 train acc 98.71% valid acc 98.95% (9910/10000) time 4.1s (11000 samples/s)"
std::string EpochLine(const v1::EpochMetrics& m);
// "[state] RUNNING: on cpu", or "[state] RUNNING" when there is no message.
std::string StateLine(const v1::StateChange& s);
// "99.25% (epoch 6)", or "-" when no epoch has finished.
std::string BestAccuracy(double accuracy, int64_t epoch);
// After a followed job ends: "Final state: SUCCEEDED; best valid acc 99.25% (epoch 6)".
std::string FinalLine(v1::JobState state, double best_accuracy, int64_t best_epoch);

// "2026-11-21 06:26:26" in local time (UTC when `utc`); "-" for 0.
std::string FormatTime(int64_t unix_ms, bool utc);
// "512 B", "1.5 KiB", "2.0 GiB".
std::string FormatBytes(int64_t bytes);

enum class Align { kLeft, kRight };
// Columns separated by two spaces, padded to the widest cell (counting UTF-8 characters), no
// trailing spaces. `align` may be shorter than `header`; missing entries are kLeft.
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows,
                  const std::vector<Align>& align = {});

std::string JobsTable(const std::vector<v1::Job>& jobs, bool utc);
std::string DevicesTable(const std::vector<v1::Device>& devices);
// `status`: "key:  value" lines, keys padded to one width. A RUNNING job with a batch progress
// gets a "progress:" line (progress_line.h, laid out for 80 columns) after "epochs:".
std::string JobDetails(const v1::Job& job, bool utc);
// `predict`: one line per class with its probability and a bar, then the verdict. Classes are
// named by the daemon's class_names (digits, which are their own names, are shown as ids).
std::string PredictionText(const v1::PredictResponse& r);

// When an event of `logs` happened: "07:12:03" on the day of `now_ms`, else "11-29 07:12:03"
// (local time, or UTC when `utc`); "" for 0.
std::string EventTime(int64_t unix_ms, int64_t now_ms, bool utc);

// `delete`: "Deleted job job-000003 (1.2 MiB of files)".
std::string DeletedLine(const v1::DeleteJobResponse& r);
// `prune`: the jobs deleted (or, with dry_run, that would be) and the space; `again` is the
// command that deletes them (shown after a dry run).
std::string PruneText(const v1::PruneJobsResponse& r, bool dry_run, const std::string& again);

// Protobuf's canonical JSON with snake_case names and every field present (so scripts need not
// know proto3's defaults); `one_line` for stream lines, indented otherwise.
std::string ToJson(const google::protobuf::Message& message, bool one_line);

}  // namespace mt::client

#endif  // MT_CLIENT_FORMAT_H_
