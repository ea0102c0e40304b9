// Optimisers over a list of parameters, with PyTorch's update rules. Their state (step count,
// per-parameter buffers) is exposed by name so checkpoints can save and restore it exactly.
#ifndef MT_ENGINE_OPTIM_H_
#define MT_ENGINE_OPTIM_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/tensor.h"

namespace mt::optim {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params);
  virtual ~Optimizer() = default;

  // One update from the parameters' accumulated gradients (parameters without one are skipped).
  virtual void Step() = 0;
  void ZeroGrad();
  int64_t steps() const { return steps_; }

  // State buffers by name ("<param index>.<buffer>"), plus the step count, for checkpoints.
  std::vector<std::pair<std::string, Tensor>> StateTensors() const;
  // Restores buffers written by StateTensors (same parameter list); names and shapes must match.
  absl::Status LoadState(int64_t steps, const std::vector<std::pair<std::string, Tensor>>& state);

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }

 protected:
  std::vector<Tensor> params_;
  // buffers_[b][i]: buffer b of parameter i (undefined until first used).
  std::vector<std::string> buffer_names_;
  std::vector<std::vector<Tensor>> buffers_;
  int64_t steps_ = 0;
  double lr_ = 0.0;
};

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
};

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<Tensor> params, SgdOptions options);
  void Step() override;

 private:
  SgdOptions options_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options);
  void Step() override;

 private:
  AdamOptions options_;
};

}  // namespace mt::optim

#endif  // MT_ENGINE_OPTIM_H_
