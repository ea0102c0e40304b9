// Inference from a job's latest checkpoint, without gRPC: load the model, prepare the input
// (inference_input.h), run the forward pass in eval mode without a graph, and report
// activations or class probabilities; or export the weights. Every call reads the checkpoint
// afresh, so it always answers from the newest finished epoch.
#ifndef MT_SERVER_INFERENCE_H_
#define MT_SERVER_INFERENCE_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/train/config.h"
#include "proto/training.pb.h"
#include "server/data_cache.h"
#include "server/inference_types.h"
#include "server/request_limits.h"

namespace mt::server {

class Inference {
 public:
  // `data`: shared with the runner (held-out examples come from it); must outlive this.
  // `limits`: input sizes and the memory budget (request_limits.h); a request beyond them is
  // refused (InvalidArgument for sizes, ResourceExhausted for memory) before the model runs.
  explicit Inference(DataCache* data, InferenceLimits limits = {})
      : data_(data), limits_(limits) {}

  // `checkpoint`: the job's latest checkpoint path; FailedPrecondition naming the job when it
  // does not exist yet (no epoch has finished).
  absl::StatusOr<ActivationsResult> Activations(const std::string& job_id,
                                                const train::TrainConfig& config,
                                                const std::string& checkpoint,
                                                const ModelInput& input);
  absl::StatusOr<v1::PredictResponse> Predict(const std::string& job_id,
                                              const train::TrainConfig& config,
                                              const std::string& checkpoint,
                                              const ModelInput& input);
  // The checkpoint's weights (no optimiser state) and model metadata, as safetensors bytes.
  absl::StatusOr<std::string> Export(const std::string& job_id, const std::string& checkpoint);

 private:
  // Both run `body` (the whole request) so that an allocation failure anywhere in it becomes
  // ResourceExhausted for this call only.
  template <typename T>
  absl::StatusOr<T> Guarded(const std::function<absl::StatusOr<T>()>& body);
  absl::StatusOr<ActivationsResult> ActivationsImpl(const std::string& job_id,
                                                    const train::TrainConfig& config,
                                                    const std::string& checkpoint,
                                                    const ModelInput& input);
  absl::StatusOr<v1::PredictResponse> PredictImpl(const std::string& job_id,
                                                  const train::TrainConfig& config,
                                                  const std::string& checkpoint,
                                                  const ModelInput& input);

  DataCache* data_;
  InferenceLimits limits_;
};

}  // namespace mt::server

#endif  // MT_SERVER_INFERENCE_H_
