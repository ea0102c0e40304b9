#include "engine/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "engine/ops.h"

namespace mt {
namespace {
thread_local bool grad_enabled = true;
}  // namespace

bool GradEnabled() { return grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(grad_enabled) { grad_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_enabled = previous_; }

std::vector<Tensor> Node::Apply(const Tensor& grad_output) const {
  MT_CHECK(fn_ != nullptr, "backward through the graph of '", name_,
           "' a second time: its saved values were freed by the first backward; pass "
           "retain_graph=true to the first Backward()");
  std::vector<Tensor> grads = fn_(grad_output);
  MT_CHECK(grads.size() == edges_.size(), "internal error: backward of '", name_, "' returned ",
           grads.size(), " gradients for ", edges_.size(), " inputs");
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!edges_[i].active() || !grads[i].defined()) continue;
    MT_CHECK(grads[i].shape() == edges_[i].shape, "internal error: backward of '", name_,
             "' returned a gradient of shape ", ShapeToString(grads[i].shape()), " for input ", i,
             " of shape ", ShapeToString(edges_[i].shape));
  }
  return grads;
}

void Node::Release() {
  fn_ = nullptr;
  edges_.clear();
}

namespace autograd {

Tensor Record(Tensor output, const std::vector<Tensor>& inputs, const char* name, BackwardFn fn) {
  if (!GradEnabled()) return output;
  bool any = false;
  std::vector<Node::Edge> edges(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (!NeedsGrad(in)) continue;
    any = true;
    edges[i].shape = in.shape();
    if (in.impl()->grad_fn) {
      edges[i].producer = in.impl()->grad_fn;
    } else {
      edges[i].leaf = in.impl_ptr();
    }
  }
  if (!any) return output;
  // The output may alias an input's TensorImpl only if an op returned its input unchanged; give
  // it its own impl so the input's graph position is not overwritten.
  for (const Tensor& in : inputs) {
    if (in.defined() && in.SameAs(output)) {
      output = MakeView(output, output.shape(), output.strides(), output.offset());
      break;
    }
  }
  output.impl()->requires_grad = true;
  output.impl()->grad_fn = std::make_shared<Node>(name, std::move(edges), std::move(fn));
  return output;
}

namespace {

// Adds g into an accumulated gradient slot, keeping the slot contiguous and owned.
void Accumulate(Tensor& slot, const Tensor& g) {
  if (!slot.defined()) {
    slot = Contiguous(g);
    // A contiguous input may come back unchanged; never alias a tensor the caller still holds.
    if (slot.SameAs(g)) slot = Clone(g);
  } else {
    slot = Add(slot, g);
  }
}

// The same for the gradient of an intermediate node: that slot never leaves RunBackward and
// is only ever read (every later contribution is an out-of-place Add), so it may share the
// tensor a backward function returned instead of copying it -- a copy of every activation's
// gradient, 5% of a LeNet-5 step.
void AccumulateInternal(Tensor& slot, const Tensor& g) {
  slot = slot.defined() ? Add(slot, g) : Contiguous(g);
}

// Adds g into a leaf's gradient: in place into its grad_home when it has one (the first
// contribution after ZeroGrad copies, later ones add), else into a slot of its own. Both give
// the same values: a copy of g, then slot + g.
template <typename LeafPtr>
void AccumulateLeaf(const LeafPtr& leaf, const Tensor& g) {
  if (leaf->grad_home) {
    Tensor home(leaf->grad_home);
    if (leaf->grad != leaf->grad_home) {
      CopyInto(home, g);
      leaf->grad = leaf->grad_home;
    } else {
      CopyInto(home, Add(home, g));
    }
    return;
  }
  Tensor slot = leaf->grad ? Tensor(leaf->grad) : Tensor();
  Accumulate(slot, g);
  leaf->grad = slot.impl_ptr();
}

}  // namespace

void RunBackward(const Tensor& root, const Tensor& seed, bool retain_graph) {
  MT_CHECK(root.requires_grad(),
           "Backward() on a tensor that does not require grad: no parameter or input it depends "
           "on has requires_grad set (or it was computed under NoGradGuard)");
  Tensor grad_root;
  if (seed.defined()) {
    MT_CHECK(seed.shape() == root.shape(), "Backward(seed): the seed's shape ",
             ShapeToString(seed.shape()), " must equal the output's shape ",
             ShapeToString(root.shape()));
    CheckSameKind(seed, root, "Backward(seed)");
    grad_root = seed;
  } else {
    MT_CHECK(root.numel() == 1, "Backward() without a seed needs a one-element output (a loss); "
             "this output has shape ", ShapeToString(root.shape()), ": pass a seed gradient");
    grad_root = Tensor::Ones(root.shape(), root.dtype(), root.device());
  }

  NoGradGuard no_grad;
  if (root.is_leaf()) {
    AccumulateLeaf(root.impl(), grad_root);
    return;
  }

  // Count, for each node, how many edges point at it, so a node runs only after every consumer
  // has contributed its gradient (reverse topological order).
  std::unordered_map<Node*, int> pending;
  std::vector<Node*> stack = {root.impl()->grad_fn.get()};
  std::unordered_set<Node*> seen = {stack[0]};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Node::Edge& e : n->edges()) {
      if (!e.producer) continue;
      Node* p = e.producer.get();
      ++pending[p];
      if (seen.insert(p).second) stack.push_back(p);
    }
  }

  std::unordered_map<Node*, Tensor> grads;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep_alive;
  grads[root.impl()->grad_fn.get()] = grad_root;
  std::vector<std::shared_ptr<Node>> ready = {root.impl()->grad_fn};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.back();
    ready.pop_back();
    Tensor g = grads[node.get()];
    grads.erase(node.get());
    // No consumer produced a gradient for this node (e.g. it only fed comparisons): nothing
    // flows further, but its producers still need their pending counts released.
    std::vector<Tensor> input_grads =
        g.defined() ? node->Apply(g) : std::vector<Tensor>(node->edges().size());
    const std::vector<Node::Edge>& edges = node->edges();
    for (size_t i = 0; i < edges.size(); ++i) {
      const Node::Edge& e = edges[i];
      if (!e.active() || !input_grads[i].defined()) {
        if (e.producer && --pending[e.producer.get()] == 0) ready.push_back(e.producer);
        continue;
      }
      if (e.leaf) {
        AccumulateLeaf(e.leaf, input_grads[i]);
      } else {
        AccumulateInternal(grads[e.producer.get()], input_grads[i]);
        if (--pending[e.producer.get()] == 0) ready.push_back(e.producer);
      }
    }
    if (!retain_graph) node->Release();
  }
}

}  // namespace autograd
}  // namespace mt
