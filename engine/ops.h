// Differentiable tensor operations (PyTorch semantics; MiniTorch's as special cases).
//
// Every op validates its inputs and throws mt::Error naming the op, the offending shapes or
// values and what would be accepted. Float ops need float32/float64 operands of one dtype;
// index arguments (targets, ids, argmax results) are int64 tensors.
// Backward rules live beside each forward in ops_*.cc, built with autograd::Record.
#ifndef MT_ENGINE_OPS_H_
#define MT_ENGINE_OPS_H_

#include <array>
#include <cstdint>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace mt {

// ---------------------------------------------------------------- shape and views (no copies)
// numpy broadcasting: align right; sizes must match or be 1.
Shape BroadcastShapes(const Shape& a, const Shape& b);
Tensor Permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor Transpose(const Tensor& x, int64_t dim0, int64_t dim1);
// View of contiguous data with a new shape (one size may be -1). Throws for non-contiguous x.
Tensor View(const Tensor& x, Shape shape);
// View when possible, otherwise a contiguous copy.
Tensor Reshape(const Tensor& x, Shape shape);
// Broadcast to `shape` (stride 0 along expanded dims; new dims on the left).
Tensor Expand(const Tensor& x, const Shape& shape);
// x[..., start:start+length, ...] along dim (e.g. a slice of the batch).
Tensor Narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor Unsqueeze(const Tensor& x, int64_t dim);
Tensor Squeeze(const Tensor& x, int64_t dim);
// Merges dims start_dim..end to one (x.Flatten(1) of (N,C,H,W) is (N, C*H*W)).
Tensor Flatten(const Tensor& x, int64_t start_dim = 0);
// Dense row-major copy, or x itself if already contiguous.
Tensor Contiguous(const Tensor& x);
// Always a new dense copy (differentiable).
Tensor Clone(const Tensor& x);
// Sums a broadcast gradient back to `shape` (the inverse of Expand).
Tensor SumTo(const Tensor& x, const Shape& shape);
// Converts dtype (differentiable between float types).
Tensor ToDType(const Tensor& x, DType dtype);
// Concatenation along dim.
Tensor Cat(const std::vector<Tensor>& xs, int64_t dim);
// In-place, outside the graph: writes src's values (any layout, same shape and dtype, any device)
// into the dense tensor dst, e.g. loading weights into parameters that are views of one buffer.
void CopyInto(const Tensor& dst, const Tensor& src);
// In-place, outside the graph: sets every element of the dense tensor dst to value.
void FillInto(const Tensor& dst, double value);

// ---------------------------------------------------------------- elementwise (broadcasting)
Tensor Add(const Tensor& a, const Tensor& b);
Tensor Sub(const Tensor& a, const Tensor& b);
Tensor Mul(const Tensor& a, const Tensor& b);
Tensor Div(const Tensor& a, const Tensor& b);
Tensor Neg(const Tensor& x);
Tensor Exp(const Tensor& x);
Tensor Log(const Tensor& x);
Tensor Relu(const Tensor& x);
Tensor Sigmoid(const Tensor& x);
Tensor Tanh(const Tensor& x);
Tensor Softplus(const Tensor& x);  // log(1 + exp(x)), stable
Tensor Sqrt(const Tensor& x);
// Comparisons give 0/1 in the operands' dtype and carry no gradient.
Tensor Lt(const Tensor& a, const Tensor& b);
Tensor Eq(const Tensor& a, const Tensor& b);
Tensor Gt(const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
// With a scalar (in the tensor's dtype).
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);

// ---------------------------------------------------------------- reductions
Tensor Sum(const Tensor& x);  // all elements → 0-dim
Tensor Sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor Mean(const Tensor& x);
Tensor Mean(const Tensor& x, int64_t dim, bool keepdim = false);
// Max over dim; gradient goes to the (first) arg-max position, as in PyTorch.
Tensor Max(const Tensor& x, int64_t dim, bool keepdim = true);
// Index of the max along dim (first on ties), int64.
Tensor Argmax(const Tensor& x, int64_t dim, bool keepdim = false);
// ids (int64, any shape) → ids.shape + [num_classes] of 0/1 in dtype (MiniTorch's argmax mask
// is OneHot(Argmax(x, d), n)).
Tensor OneHot(const Tensor& ids, int64_t num_classes, DType dtype = DType::kFloat32);

// ---------------------------------------------------------------- linear algebra
// (..., m, k) @ (..., k, n) → (..., m, n); batch dims broadcast. Both need dim >= 2.
Tensor Matmul(const Tensor& a, const Tensor& b);

// ---------------------------------------------------------------- convolution and pooling
// PyTorch conv (cross-correlation). Padding per side; MiniTorch's conv is
// padding {0, k-1} (1-D) / {0, kh-1, 0, kw-1} (2-D).
struct Conv1dOptions {
  int64_t stride = 1;
  int64_t pad_left = 0, pad_right = 0;
};
// input (N, Cin, W), weight (Cout, Cin, K), bias (Cout) or undefined → (N, Cout, Wout).
Tensor Conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              const Conv1dOptions& options = {});

struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
};
// input (N, Cin, H, W), weight (Cout, Cin, kh, kw), bias (Cout) or undefined → (N, Cout, Ho, Wo).
Tensor Conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              const Conv2dOptions& options = {});

// Relu(MaxPool2d(Conv2d(input, weight, bias, options), kh, kw)) as one op: LeNet-5's layers.
// The same values and gradients, bit for bit, as those three ops. Where the device has a fused
// kernel for the shape (the CPU's few-channel direct conv, kernels/cpu/conv_pool.h), each
// sample's conv output is pooled while still in cache instead of going to memory and back;
// elsewhere the three ops run.
Tensor Conv2dMaxPoolRelu(const Tensor& input, const Tensor& weight, const Tensor& bias,
                         const Conv2dOptions& options, int64_t kh, int64_t kw);

// MiniTorch's tile: (B, C, H, W) → (B, C, H/kh, W/kw, kh*kw), each window row-major.
// H and W must be divisible by kh and kw.
Tensor Tile(const Tensor& input, int64_t kh, int64_t kw);
// Mean / max over (kh, kw) windows with stride = kernel: (B, C, H, W) → (B, C, H/kh, W/kw).
Tensor AvgPool2d(const Tensor& input, int64_t kh, int64_t kw);
Tensor MaxPool2d(const Tensor& input, int64_t kh, int64_t kw);

// ---------------------------------------------------------------- classification heads
Tensor Softmax(const Tensor& x, int64_t dim);
Tensor LogSoftmax(const Tensor& x, int64_t dim);
// PyTorch's inverted dropout: in training, zero each element with probability `rate` and scale
// survivors by 1/(1-rate). rate 0 or !training → x; rate 1 → zeros.
Tensor Dropout(const Tensor& x, double rate, bool training, Generator& gen);

// Mean negative log-likelihood: log_probs (N, C), target int64 (N) with values in [0, C).
Tensor NllLoss(const Tensor& log_probs, const Tensor& target);
// NllLoss(LogSoftmax(logits, 1), target).
Tensor CrossEntropy(const Tensor& logits, const Tensor& target);
// Mean binary cross-entropy of probabilities p in (0, 1) against 0/1 targets (same shape).
Tensor BinaryCrossEntropy(const Tensor& p, const Tensor& target);
// The same from logits, stable for any x: softplus(x) - x * target.
Tensor BinaryCrossEntropyWithLogits(const Tensor& logits, const Tensor& target);

// ---------------------------------------------------------------- embeddings
// weight (V, D), ids int64 of any shape with values in [0, V) → ids.shape + [D]. The backward
// scatters O(ids * D) values, with no one-hot matrix, into a dense (V, D) gradient that is zeroed
// each time (O(V * D)); optimisers then update every row, as with PyTorch's dense gradients.
Tensor Embedding(const Tensor& weight, const Tensor& ids);

}  // namespace mt

#endif  // MT_ENGINE_OPS_H_
