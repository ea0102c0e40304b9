// Inference input: a request's held-out index, PNG or sentence becomes the model's input tensor
// through the job's task entry (engine/tasks); this file only decodes the PNG (to the size the
// task takes) and hands over the checkpoint's vocabulary and the daemon's data cache.
#ifndef MT_SERVER_INFERENCE_INPUT_H_
#define MT_SERVER_INFERENCE_INPUT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/data/sst2.h"
#include "engine/tensor.h"
#include "engine/train/config.h"
#include "server/data_cache.h"
#include "server/inference_types.h"
#include "server/request_limits.h"

namespace mt::server {

// The vocabulary the task's inputs are encoded with, from the checkpoint's metadata (sst2);
// null for tasks without one (mnist). DataLoss naming `path` when it is missing or damaged.
absl::StatusOr<std::shared_ptr<data::Vocab>> InputVocabulary(
    const train::TrainConfig& config, const std::map<std::string, std::string>& metadata,
    const std::string& path);

struct PreparedInput {
  Tensor input;       // a batch of one
  int64_t label = -1;  // the example's label when the input was a held-out index
};

// `config`: the job's; `vocab`: the checkpoint's (text tasks; may be null otherwise); `data`:
// where a held-out mnist example is loaded from. Errors name the job, what was sent and what
// its task takes. Text longer than `limits` allows (bytes, then tokens) and PNGs of more bytes
// are InvalidArgument, checked before decoding.
absl::StatusOr<PreparedInput> PrepareInput(const std::string& job_id,
                                           const train::TrainConfig& config,
                                           const data::Vocab* vocab, DataCache& data,
                                           const ModelInput& input,
                                           const InferenceLimits& limits = InferenceLimits());

}  // namespace mt::server

#endif  // MT_SERVER_INFERENCE_INPUT_H_
