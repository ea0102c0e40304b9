// The networks mt trains: MiniTorch Module 4's MNIST CNN, LeNet-5, and Kim's (2014) CNN for
// sentence classification. Every model maps an input batch to log-probabilities (N, classes)
// and can report each layer's output by name (for activation pictures). Each constructor ends by
// flattening the parameters (nn::Module::FlattenParameters): one buffer per model. Which task
// uses which model is the task registry's business (engine/tasks).
#ifndef MT_ENGINE_MODELS_MODELS_H_
#define MT_ENGINE_MODELS_MODELS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/nn.h"

namespace mt::models {

// Receives (layer name, output) pairs during a forward pass when given one.
using Activations = std::vector<std::pair<std::string, Tensor>>;

class Model : public nn::Module {
 public:
  // input: images (N, 1, 28, 28) float32, or token ids (N, L) int64.
  // Returns log-probabilities (N, num_classes).
  virtual Tensor Forward(const Tensor& input, Activations* activations = nullptr) = 0;
  virtual int64_t num_classes() const = 0;
  virtual std::string name() const = 0;
  // An upper estimate of the bytes one forward pass on an input of `input_shape` allocates
  // (outputs, intermediates and kernel scratch; no graph), so that a server can refuse a request
  // before allocating. The default, a generous constant per input element, covers the image
  // models, whose input size is fixed; models whose size grows with the input override it.
  virtual int64_t EstimateForwardBytes(const Shape& input_shape) const;
  // The generator dropout draws from; its state is part of a checkpoint.
  Generator& dropout_generator() { return dropout_gen_; }
  // A new model of the same architecture whose parameters are views of this model's values
  // (nn::Module::ShareParametersWith): it computes with this model's current weights and sees
  // every optimiser step on them, but accumulates its own gradients and draws dropout from its
  // own generator. What a training step that splits its batch over threads runs its other
  // pieces on (engine/train/replicas.h).
  std::unique_ptr<Model> NewReplica() const;
  // Whether inference and validation on several CPU threads should split the batch into
  // pieces on replicas (true: small per-sample ops, whose per-op fork and join cost more than
  // the op) or split each op over the threads (false).
  virtual bool SplitsInferenceBatches() const { return true; }

 protected:
  // A newly initialised model of the same architecture and options (its values do not matter).
  virtual std::unique_ptr<Model> NewSameArchitecture() const = 0;
  explicit Model(uint64_t seed) : dropout_gen_(seed ^ 0x9e3779b97f4a7c15ULL) {}
  Generator dropout_gen_;
};

// MiniTorch Module 4 (project/run_mnist_multiclass.py): conv 1→4 3×3 + ReLU, conv 4→8 3×3 + ReLU
// (both "same" size, weight anchored top-left), 4×4 average pool, 392→64 + ReLU, dropout 0.25,
// 64→10, log-softmax.
class MinitorchMnist : public Model {
 public:
  explicit MinitorchMnist(uint64_t seed);
  Tensor Forward(const Tensor& input, Activations* activations = nullptr) override;
  int64_t num_classes() const override { return 10; }
  std::string name() const override { return "minitorch_mnist"; }

 protected:
  std::unique_ptr<Model> NewSameArchitecture() const override {
    return std::make_unique<MinitorchMnist>(0);
  }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
  std::shared_ptr<nn::Dropout> dropout_;
};

// LeNet-5 (LeCun et al. 1998) with ReLU and max pooling, as commonly trained today:
// conv 6@5×5 pad 2, pool 2, conv 16@5×5, pool 2, fc 400→120→84→10.
class Lenet5 : public Model {
 public:
  explicit Lenet5(uint64_t seed);
  Tensor Forward(const Tensor& input, Activations* activations = nullptr) override;
  int64_t num_classes() const override { return 10; }
  std::string name() const override { return "lenet5"; }

 protected:
  std::unique_ptr<Model> NewSameArchitecture() const override {
    return std::make_unique<Lenet5>(0);
  }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::Linear> fc1_, fc2_, fc3_;
};

struct KimCnnOptions {
  int64_t vocab_size = 0;
  int64_t embedding_dim = 128;
  std::vector<int64_t> widths = {3, 4, 5};
  int64_t feature_maps = 100;  // per width
  double dropout = 0.5;
  // Optional pretrained vectors (vocab_size, embedding_dim); row 0 is the padding id.
  Tensor pretrained;
  bool freeze_embeddings = false;
};

// Kim (2014) CNN for sentence classification: embeddings → wide conv1d per width (ReLU) → max
// over time → concatenate → dropout → linear → 2-way log-softmax. Token id 0 is padding: its
// embedding is forced to zero and windows that see only padding are excluded from the max, so
// a sentence's result does not depend on how far its batch is padded.
class KimCnn : public Model {
 public:
  KimCnn(const KimCnnOptions& options, uint64_t seed);
  Tensor Forward(const Tensor& input, Activations* activations = nullptr) override;
  int64_t num_classes() const override { return 2; }
  std::string name() const override { return "kim_cnn"; }
  int64_t EstimateForwardBytes(const Shape& input_shape) const override;
  // Its forward lays a batch's sentences end to end into one long convolution per width,
  // which splits well op by op: Kim CNN inference at batch 256 on 2 threads ran at 14-16k
  // sentences/s that way and 11-14k in two pieces (mt-bench, 2026-12-07).
  bool SplitsInferenceBatches() const override { return false; }

 protected:
  std::unique_ptr<Model> NewSameArchitecture() const override {
    auto m = std::make_unique<KimCnn>(options_, 0);
    // Frozen vectors are no parameter but never written either: one table for all replicas.
    if (frozen_embeddings_.defined()) m->frozen_embeddings_ = frozen_embeddings_;
    return m;
  }

 private:
  KimCnnOptions options_;
  Tensor frozen_embeddings_;  // used instead of embedding_ when frozen
  std::shared_ptr<nn::Embedding> embedding_;
  std::vector<std::shared_ptr<nn::Conv1d>> convs_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::Linear> fc_;
};

}  // namespace mt::models

#endif  // MT_ENGINE_MODELS_MODELS_H_
