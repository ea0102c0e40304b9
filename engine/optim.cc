#include "engine/optim.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "engine/ops_internal.h"

namespace mt::optim {

namespace {
std::atomic<uint64_t> g_next_optimizer_id{1};
}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params)
    : params_(std::move(params)), id_(g_next_optimizer_id.fetch_add(1)) {
  for (size_t i = 0; i < params_.size(); ++i) {
    MT_CHECK(params_[i].is_leaf() && params_[i].requires_grad() && params_[i].is_contiguous(),
             "optimiser parameter ", i, " must be a contiguous leaf that requires grad");
  }
}

void Optimizer::CopyStateTo(Optimizer* to) const {
  MT_CHECK(to->params_.size() == params_.size(), "optimiser CloneFor: ", to->params_.size(),
           " parameters given, this optimiser has ", params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    MT_CHECK(to->params_[i].shape() == params_[i].shape() &&
                 to->params_[i].dtype() == params_[i].dtype(),
             "optimiser CloneFor: parameter ", i, " is ", ShapeToString(to->params_[i].shape()),
             " ", DTypeName(to->params_[i].dtype()), " but this optimiser's is ",
             ShapeToString(params_[i].shape()), " ", DTypeName(params_[i].dtype()));
  }
  to->steps_ = steps_;
  to->lr_ = lr_;
  to->buffer_names_ = buffer_names_;
  to->buffers_.assign(buffers_.size(), std::vector<Tensor>(params_.size()));
  for (size_t b = 0; b < buffers_.size(); ++b) {
    for (size_t i = 0; i < params_.size(); ++i) {
      if (buffers_[b][i].defined()) to->buffers_[b][i] = Clone(buffers_[b][i].Detach());
    }
  }
}

void Optimizer::ZeroGrad() {
  for (Tensor& p : params_) p.ZeroGrad();
}

std::vector<std::pair<std::string, Tensor>> Optimizer::StateTensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t b = 0; b < buffers_.size(); ++b) {
    for (size_t i = 0; i < params_.size(); ++i) {
      if (buffers_[b][i].defined()) {
        out.emplace_back(absl::StrCat(i, ".", buffer_names_[b]), buffers_[b][i]);
      }
    }
  }
  return out;
}

absl::Status Optimizer::LoadState(int64_t steps,
                                  const std::vector<std::pair<std::string, Tensor>>& state) {
  std::vector<std::vector<Tensor>> loaded(buffers_.size(),
                                          std::vector<Tensor>(params_.size()));
  for (const auto& [name, t] : state) {
    bool matched = false;
    for (size_t b = 0; b < buffer_names_.size() && !matched; ++b) {
      for (size_t i = 0; i < params_.size() && !matched; ++i) {
        if (name != absl::StrCat(i, ".", buffer_names_[b])) continue;
        matched = true;
        if (t.shape() != params_[i].shape() || t.dtype() != params_[i].dtype()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "optimiser state '", name, "' has shape ", ShapeToString(t.shape()), " ",
              DTypeName(t.dtype()), " but parameter ", i, " is ",
              ShapeToString(params_[i].shape()), " ", DTypeName(params_[i].dtype())));
        }
        loaded[b][i] = Clone(t.Detach());
      }
    }
    if (!matched) {
      return absl::InvalidArgumentError(absl::StrCat(
          "optimiser state '", name, "' does not belong to this optimiser (", params_.size(),
          " parameters)"));
    }
  }
  buffers_ = std::move(loaded);
  steps_ = steps;
  ++state_version_;
  return absl::OkStatus();
}

Sgd::Sgd(std::vector<Tensor> params, SgdOptions options)
    : Optimizer(std::move(params)), options_(options) {
  MT_CHECK(options.lr > 0, "SGD: learning rate must be > 0, got ", options.lr);
  MT_CHECK(options.momentum >= 0, "SGD: momentum must be >= 0, got ", options.momentum);
  MT_CHECK(options.weight_decay >= 0, "SGD: weight_decay must be >= 0, got ",
           options.weight_decay);
  lr_ = options.lr;
  buffer_names_ = {"momentum"};
  buffers_.assign(1, std::vector<Tensor>(params_.size()));
}

void Sgd::Step() {
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    bool first = false;
    Tensor& buf = buffers_[0][i];
    if (options_.momentum != 0.0 && !buf.defined()) {
      buf = Tensor::Zeros(p.shape(), p.dtype(), p.device());
      first = true;
    }
    CheckFloating(p, "SGD");
    const Tensor gd = internal::Dense(g);
    dispatch::Run<dispatch::SgdStepKernel>(p.device(), p.dtype(), p.numel(), p.raw_data(),
                                           gd.raw_data(), buf.defined() ? buf.raw_data() : nullptr,
                                           lr_, options_.momentum, options_.weight_decay, first);
  }
}

std::unique_ptr<Optimizer> Sgd::CloneFor(std::vector<Tensor> params) const {
  auto copy = std::make_unique<Sgd>(std::move(params), options_);
  CopyStateTo(copy.get());
  return copy;
}

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Optimizer(std::move(params)), options_(options) {
  MT_CHECK(options.lr > 0, "Adam: learning rate must be > 0, got ", options.lr);
  MT_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1,
           "Adam: betas must be in [0, 1), got (", options.beta1, ", ", options.beta2, ")");
  MT_CHECK(options.eps > 0, "Adam: eps must be > 0");
  lr_ = options.lr;
  buffer_names_ = {"exp_avg", "exp_avg_sq"};
  buffers_.assign(2, std::vector<Tensor>(params_.size()));
}

void Adam::Step() {
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    Tensor& m = buffers_[0][i];
    Tensor& v = buffers_[1][i];
    if (!m.defined()) m = Tensor::Zeros(p.shape(), p.dtype(), p.device());
    if (!v.defined()) v = Tensor::Zeros(p.shape(), p.dtype(), p.device());
    CheckFloating(p, "Adam");
    const Tensor gd = internal::Dense(g);
    dispatch::Run<dispatch::AdamStepKernel>(
        p.device(), p.dtype(), p.numel(), p.raw_data(), gd.raw_data(), m.raw_data(), v.raw_data(),
        lr_, options_.beta1, options_.beta2, options_.eps, options_.weight_decay, steps_);
  }
}

std::unique_ptr<Optimizer> Adam::CloneFor(std::vector<Tensor> params) const {
  auto copy = std::make_unique<Adam>(std::move(params), options_);
  CopyStateTo(copy.get());
  return copy;
}

}  // namespace mt::optim
