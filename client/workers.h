// mt-client's scale-out additions (issue 11), kept apart from the common parser and formatter:
// `submit --workers N` and the world size in what the CLI prints.
#ifndef MT_CLIENT_WORKERS_H_
#define MT_CLIENT_WORKERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/training.pb.h"

namespace mt::client {

// Most workers the client will ask for; the daemon has its own, usually lower, bound.
inline constexpr int32_t kMaxWorkersFlag = 1024;

// Removes `--workers N` / `--workers=N` from a `submit` command line (other commands are left
// alone, so the parser names the flag as unknown there) and returns N (0 when absent).
// InvalidArgument for a missing or bad value, or the flag given twice.
absl::StatusOr<int32_t> TakeWorkersFlag(std::vector<std::string>* argv);

// " (2 workers)" for a job or epoch of more than one worker, else "".
std::string WorkersNote(int32_t world_size);

// For `status`: "workers: 2 processes (batch 32 each, 64 in all)" when the job has several,
// else "".
std::string WorkersDetail(const v1::Job& job);

}  // namespace mt::client

#endif  // MT_CLIENT_WORKERS_H_
