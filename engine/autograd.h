// Reverse-mode automatic differentiation.
//
// Each differentiable op builds its result and its gradient function together (Record below):
// the closure captures only what the backward needs. Edges point to the producer node of each
// input (non-leaf) or to the input's TensorImpl (leaf requiring grad), so intermediate tensors
// are freed as soon as nothing but the graph's saved values needs them.
// RunBackward walks nodes in reverse topological order, sums the gradients flowing into each
// node (a tensor used twice gets both contributions), accumulates into leaves' .grad, and then
// releases the graph's closures unless asked to retain it.
#ifndef MT_ENGINE_AUTOGRAD_H_
#define MT_ENGINE_AUTOGRAD_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mt {

// Given dL/d(output), returns dL/d(input_i) for each input, in input order, each with that
// input's shape (or undefined when that input needs no gradient).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

class Node {
 public:
  struct Edge {
    std::shared_ptr<Node> producer;    // set when the input is a non-leaf
    std::shared_ptr<TensorImpl> leaf;  // set when the input is a leaf that requires grad
    Shape shape;                       // the input's shape, to check what backward returns
    bool active() const { return producer != nullptr || leaf != nullptr; }
  };

  Node(std::string name, std::vector<Edge> edges, BackwardFn fn)
      : name_(std::move(name)), edges_(std::move(edges)), fn_(std::move(fn)) {}

  const std::string& name() const { return name_; }
  const std::vector<Edge>& edges() const { return edges_; }
  bool released() const { return !fn_; }
  std::vector<Tensor> Apply(const Tensor& grad_output) const;
  // Frees saved tensors and edges (after backward without retain_graph).
  void Release();

 private:
  std::string name_;
  std::vector<Edge> edges_;
  BackwardFn fn_;
};

bool GradEnabled();

// Disables graph recording in its scope (evaluation, optimiser steps, backward itself).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

namespace autograd {

// Attaches a node computing `fn` to `output` when recording is on and any input requires a
// gradient; returns `output` (now requiring grad) either way. Used by every op, and usable for
// custom ops (like torch.autograd.Function).
Tensor Record(Tensor output, const std::vector<Tensor>& inputs, const char* name, BackwardFn fn);

// True when `t` takes part in autodiff (leaf requiring grad or output of a recorded op).
inline bool NeedsGrad(const Tensor& t) { return t.defined() && t.requires_grad(); }

void RunBackward(const Tensor& root, const Tensor& seed, bool retain_graph);

}  // namespace autograd
}  // namespace mt

#endif  // MT_ENGINE_AUTOGRAD_H_
