// Modules with named parameters (PyTorch-style dotted names such as "conv1.weight"), train/eval
// mode and PyTorch's default initialisation drawn from a seeded Generator.
#ifndef MT_ENGINE_NN_H_
#define MT_ENGINE_NN_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace mt::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;

  // Parameters of this module and its children, depth-first in registration order, with
  // dotted names. The order is stable, so optimiser state and checkpoints line up with it.
  NamedTensors NamedParameters() const;
  std::vector<Tensor> Parameters() const;
  int64_t NumParameters() const;  // total element count
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> NamedChildren() const {
    return children_;
  }

  // Moves every parameter of this module and its children into one contiguous buffer per
  // dtype: each parameter becomes a view of its buffer (every handle to it sees the move) with
  // its values unchanged, starting at a 64-byte boundary as freshly allocated tensors do. Call
  // once, after initialisation, on the root module; a checkpoint or a gradient all-reduce then
  // touches one buffer. Parameters registered later are not included.
  void FlattenParameters();
  bool is_flat() const { return !flat_.empty(); }
  // The buffer holding every parameter of `dtype` (padding between them is zero); undefined
  // before FlattenParameters or when no parameter has that dtype.
  Tensor FlatParameters(DType dtype = DType::kFloat32) const;
  // The one gradient buffer laid out like FlatParameters. Backward accumulates each flat
  // parameter's gradient in place into its slot, so after backward this only zeroes the slots
  // of parameters that got no gradient this step (and copies in any gradient set by hand), then
  // returns it: reducing it (e.g. averaging across data-parallel ranks) changes the gradients
  // the optimiser steps with. Call it after backward, before the step. Needs FlattenParameters.
  Tensor GatherGradients(DType dtype = DType::kFloat32);

  // Makes this module a replica of `source`, a flat module of the same architecture (the same
  // parameter names, shapes and dtypes, in the same order): every flat parameter becomes a view
  // of source's flat buffer, so it reads source's current values with no copy and sees every
  // optimiser step on source, while backward still accumulates into this module's own gradient
  // buffer. Both must be flat and on the CPU; mt::Error says what differs otherwise. Only the
  // values are shared: train/eval mode and gradients stay each module's own. Every parameter
  // must be in a flat buffer (none registered after FlattenParameters).
  void ShareParametersWith(const Module& source);
  // Gives this flat module its own copy of the values its flat buffers hold (after
  // ShareParametersWith: a copy of the source's current values), so that it no longer sees the
  // source's updates; gradients are untouched. Needs FlattenParameters.
  void UnshareParameters();
  // Whether every flat parameter here still views source's flat buffers (false once source's
  // parameters moved, e.g. by MoveTo, or before ShareParametersWith).
  bool SharesParametersWith(const Module& source) const;

  // Moves every parameter of this module and its children to `device` (values unchanged,
  // gradients dropped), re-pointing the shared TensorImpls as FlattenParameters does: every
  // handle (modules, an optimiser) follows, and flat buffers stay one buffer each. Call on the
  // root module, outside any backward pass. A no-op for parameters already there.
  void MoveTo(Device device);

  void Train(bool on = true);
  void Eval() { Train(false); }
  bool is_training() const { return training_; }
  void ZeroGrad();

 protected:
  // Registers a leaf parameter (sets requires_grad) and returns it.
  Tensor RegisterParameter(const std::string& name, Tensor value);
  template <typename M>
  std::shared_ptr<M> RegisterModule(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }

 private:
  void CollectParameters(const std::string& prefix, NamedTensors* out) const;

  // One buffer per dtype, and where each parameter sits in it (in elements).
  struct FlatBuffer {
    DType dtype;
    Tensor values, grads;
    std::vector<std::pair<Tensor, int64_t>> params;  // (parameter, offset)
  };
  const FlatBuffer* FindFlat(DType dtype) const;
  FlatBuffer* FindFlat(DType dtype);

  NamedTensors params_;
  std::vector<FlatBuffer> flat_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// y = x W^T + b.  x (..., in) → (..., out). W: (out, in), b: (out).
// Init as torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in)) for both.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias = true,
         DType dtype = DType::kFloat32);
  Tensor Forward(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  Tensor weight_, bias_;
};

// torch.nn.Conv1d semantics with per-side padding. Init U(±1/sqrt(in*k)).
class Conv1d : public Module {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel, Generator& gen,
         Conv1dOptions options = {}, bool bias = true, DType dtype = DType::kFloat32);
  Tensor Forward(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined without bias

 private:
  Tensor weight_, bias_;
  Conv1dOptions options_;
};

// torch.nn.Conv2d semantics with per-side padding. Init U(±1/sqrt(in*kh*kw)).
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
         Generator& gen, Conv2dOptions options = {}, bool bias = true,
         DType dtype = DType::kFloat32);
  Tensor Forward(const Tensor& x) const;
  // Relu(MaxPool2d(Forward(x), kh, kw)) as one op (mt::Conv2dMaxPoolRelu).
  Tensor ForwardMaxPoolRelu(const Tensor& x, int64_t kh, int64_t kw) const;
  const Tensor& weight() const { return weight_; }

 private:
  Tensor weight_, bias_;
  Conv2dOptions options_;
};

// Lookup table (num, dim), init N(0, 1) as torch.nn.Embedding. Optionally frozen (e.g. GloVe).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, Generator& gen, DType dtype = DType::kFloat32);
  Tensor Forward(const Tensor& ids) const;
  const Tensor& weight() const { return weight_; }

 private:
  Tensor weight_;
};

// Inverted dropout, active only in training mode; draws from the generator it is given.
class Dropout : public Module {
 public:
  Dropout(double rate, Generator* gen);
  Tensor Forward(const Tensor& x) const;

 private:
  double rate_;
  Generator* gen_;
};

class AvgPool2d : public Module {
 public:
  AvgPool2d(int64_t kh, int64_t kw) : kh_(kh), kw_(kw) {}
  Tensor Forward(const Tensor& x) const { return mt::AvgPool2d(x, kh_, kw_); }

 private:
  int64_t kh_, kw_;
};

class MaxPool2d : public Module {
 public:
  MaxPool2d(int64_t kh, int64_t kw) : kh_(kh), kw_(kw) {}
  Tensor Forward(const Tensor& x) const { return mt::MaxPool2d(x, kh_, kw_); }

 private:
  int64_t kh_, kw_;
};

}  // namespace mt::nn

#endif  // MT_ENGINE_NN_H_
