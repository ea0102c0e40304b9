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

struct ActivationsResult {
  std::vector<Activation> layers;
  int64_t label = -1;  // the example's label when the input was a held-out index
  // The model's input as it ran (batch of one): mnist's normalised pixels (1,1,28,28), a text
  // task's token ids (1,T) with their tokens (the dashboard shows them beside the layers).
  std::vector<int64_t> input_shape;
  std::vector<float> input;
  std::vector<std::string> input_tokens;
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
