// Which of a job's checkpoint files answers an inference or export request: the latest, a
// given epoch's, or the best epoch's. The trainer keeps <dir>/epoch-<N>.safetensors for every
// finished epoch beside latest.safetensors, so any finished epoch can be chosen.
#ifndef MT_SERVER_CHECKPOINT_CHOICE_H_
#define MT_SERVER_CHECKPOINT_CHOICE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/inference_types.h"

namespace mt::server {

// The epochs N with a file <job_dir>/epoch-N.safetensors, ascending.
std::vector<int64_t> CheckpointEpochs(const std::string& job_dir);

// The path for `which`. `best_epoch`: the job's (0 when no epoch has finished). Errors, in the
// words of mt-client's --epoch: InvalidArgument for a negative epoch; FailedPrecondition when
// no epoch has finished and a specific or best one was asked for; NotFound naming the epochs
// that do exist. The latest (which.epoch == 0, !which.best) is returned without looking: the
// inference reports its absence itself.
absl::StatusOr<std::string> ChooseCheckpoint(const std::string& job_dir, const std::string& job_id,
                                             int64_t best_epoch, const CheckpointChoice& which);

}  // namespace mt::server

#endif  // MT_SERVER_CHECKPOINT_CHOICE_H_
