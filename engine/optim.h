// Optimisers over a list of parameters, with PyTorch's update rules. Their state (step count,
// per-parameter buffers) is exposed by name so checkpoints can save and restore it exactly.
#ifndef MT_ENGINE_OPTIM_H_
#define MT_ENGINE_OPTIM_H_

#include <cstdint>
#include <memory>
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
  // A new optimiser of this kind and options over `params` (the same shapes and dtypes as this
  // one's, in order), holding copies of this one's state (step count, learning rate, buffers):
  // stepped with the same gradients, it makes the same updates bit for bit. Used by
  // engine/train/replicas.h to keep a replica's own copy of the weights in step with the model.
  virtual std::unique_ptr<Optimizer> CloneFor(std::vector<Tensor> params) const = 0;
  const std::vector<Tensor>& params() const { return params_; }
  // Unique to this optimiser object among all made in the process (an address may be reused).
  uint64_t id() const { return id_; }
  // Counts the changes of this optimiser's state other than Step() (LoadState): with id() and
  // steps(), it tells engine/train/replicas.h whether its copies of the state are current.
  int64_t state_version() const { return state_version_; }
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
  const uint64_t id_;
  int64_t state_version_ = 0;

  // For CloneFor: checks that `to` has this optimiser's parameter shapes and gives it copies of
  // the state.
  void CopyStateTo(Optimizer* to) const;
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
  std::unique_ptr<Optimizer> CloneFor(std::vector<Tensor> params) const override;

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
  std::unique_ptr<Optimizer> CloneFor(std::vector<Tensor> params) const override;

 private:
  AdamOptions options_;
};

}  // namespace mt::optim

#endif  // MT_ENGINE_OPTIM_H_
