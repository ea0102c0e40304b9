// Plain data for inference requests and results, shared by the job manager's interface and the
// inference part (no engine types, so the interface stays light).
#ifndef MT_SERVER_INFERENCE_TYPES_H_
#define MT_SERVER_INFERENCE_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace mt::server {

// A named layer output (for GetActivations).
struct Activation {
  std::string layer;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// The model's input as it ran, without the batch dimension (see v1::PredictResponse).
struct InputEcho {
  std::vector<int64_t> shape;
  std::vector<float> values;
  std::vector<std::string> tokens;  // text tasks: the word each token id stands for
};

struct ActivationsResult {
  std::vector<Activation> layers;
  int64_t label = -1;  // the example's label when the input was a held-out index
  InputEcho input;
  int64_t checkpoint_epoch = 0;
};

// Which checkpoint answers (mt-client --epoch): the latest by default.
struct CheckpointChoice {
  int64_t epoch = 0;  // 0 = the latest; N = epoch N's
  bool best = false;  // the best epoch's (overrides epoch)
};

// Input for Predict / GetActivations: exactly one of the three is set.
struct ModelInput {
  enum class Kind { kValidIndex, kImagePng, kText } kind = Kind::kValidIndex;
  int64_t valid_index = 0;
  std::string image_png;  // PNG bytes (mnist): grayscale or RGB, 28x28
  std::string text;       // a sentence (sst2)
};

}  // namespace mt::server

#endif  // MT_SERVER_INFERENCE_TYPES_H_
