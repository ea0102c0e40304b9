// `mt-client metrics JOB [--csv]`: a job's history series (common/metric_series.h), read by
// replaying WatchJob from the first event, printed as tables or as CSV.
//
// Kept out of mt_client.cc (two hook lines there): the command borrows `logs JOB`'s parsing, so
// the job id and the global flags (--server, --tls-ca, --token-file, --json) behave the same.
#ifndef MT_CLIENT_METRICS_COMMAND_H_
#define MT_CLIENT_METRICS_COMMAND_H_

#include <string>
#include <vector>

#include "client/args.h"
#include "client/connection.h"
#include "common/metric_series.h"

namespace mt::client {

struct MetricsCommand {
  bool active = false;  // the command line named `metrics`
  bool csv = false;
};

// When argv (without the program name) is `metrics ...`: takes --csv out, rewrites the command
// word to `logs` for ParseArgs, and returns active. `metrics --help` prints MetricsHelp() and
// exits with 0. Otherwise leaves argv alone.
MetricsCommand TakeMetricsCommand(std::vector<std::string>* argv);

// Replays the job's events and prints its series; the exit code (0 OK, 1 an error, printed).
int RunMetrics(const Args& args, const Connection& connection, bool csv);

std::string MetricsHelp();

// What RunMetrics prints for `series` of job `job_id`:
// tables: the per-epoch metrics, one row per epoch, then the training-loss points;
std::string MetricsTables(const std::string& job_id, const MetricSeries& series);
// CSV (RFC 4180, "\n" line ends): header "series,step,epoch,value", then every point of every
// series, series by name, points by step; numbers with up to 17 significant digits.
std::string MetricsCsv(const MetricSeries& series);
// JSON (--json): {"job_id": ..., "series": {TAG: [{"step":..,"epoch":..,"value":..}, ...]}}.
std::string MetricsJson(const std::string& job_id, const MetricSeries& series);

}  // namespace mt::client

#endif  // MT_CLIENT_METRICS_COMMAND_H_
