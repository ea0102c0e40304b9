// Convolution, pooling, softmax, dropout, losses and embeddings.
#include "engine/ops_internal.h"

namespace mt {

using internal::Dense;
using internal::SplitAt;
using internal::WrapDim;

namespace {
// The most memory a conv keeps its forward im2col columns in for the weight gradient; a larger
// one rebuilds them in the backward pass instead.
constexpr int64_t kMaxKeptColumnsBytes = int64_t{64} << 20;
}  // namespace

namespace {
// The conv's geometry, every argument checked (`op` names the op in messages).
kernels::Conv2dShape CheckedConv2dShape(const Tensor& input, const Tensor& weight,
                                        const Tensor& bias, const Conv2dOptions& o,
                                        const char* op) {
  CheckSameKind(input, weight, op);
  CheckFloating(input, op);
  MT_CHECK(input.dim() == 4, op, ": input must be (N, C_in, H, W), got ",
           ShapeToString(input.shape()));
  MT_CHECK(weight.dim() == 4, op, ": weight must be (C_out, C_in, kH, kW), got ",
           ShapeToString(weight.shape()));
  MT_CHECK(input.size(1) == weight.size(1), op, ": input has ", input.size(1),
           " channels but the weight expects ", weight.size(1), " (input ",
           ShapeToString(input.shape()), ", weight ", ShapeToString(weight.shape()), ")");
  if (bias.defined()) {
    CheckSameKind(input, bias, absl::StrCat(op, " (bias)").c_str());
    MT_CHECK(bias.shape() == Shape{weight.size(0)}, op, ": bias must have shape [",
             weight.size(0), "], got ", ShapeToString(bias.shape()));
  }
  MT_CHECK(o.stride_h >= 1 && o.stride_w >= 1, op, ": strides must be >= 1, got (", o.stride_h,
           ", ", o.stride_w, ")");
  MT_CHECK(o.pad_top >= 0 && o.pad_bottom >= 0 && o.pad_left >= 0 && o.pad_right >= 0, op,
           ": paddings must be >= 0, got top ", o.pad_top, " bottom ", o.pad_bottom, " left ",
           o.pad_left, " right ", o.pad_right);
  kernels::Conv2dShape s;
  s.batch = input.size(0);
  s.in_channels = input.size(1);
  s.in_h = input.size(2);
  s.in_w = input.size(3);
  s.out_channels = weight.size(0);
  s.kernel_h = weight.size(2);
  s.kernel_w = weight.size(3);
  s.stride_h = o.stride_h;
  s.stride_w = o.stride_w;
  s.pad_top = o.pad_top;
  s.pad_bottom = o.pad_bottom;
  s.pad_left = o.pad_left;
  s.pad_right = o.pad_right;
  MT_CHECK(s.in_h + s.pad_top + s.pad_bottom >= s.kernel_h &&
               s.in_w + s.pad_left + s.pad_right >= s.kernel_w,
           op, ": the ", s.kernel_h, "x", s.kernel_w, " kernel is larger than the padded input ",
           s.in_h + s.pad_top + s.pad_bottom, "x", s.in_w + s.pad_left + s.pad_right,
           "; pad more or use a smaller kernel");
  return s;
}

// {d input, d weight, d bias} of a conv from gd, the gradient of its output (dense, (N, O, oh,
// ow)); undefined where not needed. columns: what the forward pass kept, or undefined.
std::vector<Tensor> Conv2dGradients(const kernels::Conv2dShape& s, Device device,
                                    const Tensor& gd, const Tensor& in_d, const Tensor& w_d,
                                    bool need_in, bool need_w, bool has_bias,
                                    const Tensor& columns) {
  Tensor g_in, g_w, g_b;
  CheckFloating(gd, "Conv2dBackward");
  if (need_in) {
    g_in = Tensor::Empty(in_d.shape(), in_d.dtype(), device);
    dispatch::Run<dispatch::Conv2dBackwardInputKernel>(device, gd.dtype(), s, gd.raw_data(),
                                                       w_d.raw_data(), g_in.raw_data());
  }
  if (need_w) {
    g_w = Tensor::Empty(w_d.shape(), w_d.dtype(), device);
    if (has_bias) g_b = Tensor::Empty({s.out_channels}, w_d.dtype(), device);
    if (columns.defined()) {
      dispatch::Run<dispatch::Conv2dBackwardWeightFromColumnsKernel>(
          device, gd.dtype(), s, gd.raw_data(), in_d.raw_data(), columns.raw_data(),
          g_w.raw_data(), has_bias ? g_b.raw_data() : nullptr);
    } else {
      dispatch::Run<dispatch::Conv2dBackwardWeightKernel>(device, gd.dtype(), s, gd.raw_data(),
                                                          in_d.raw_data(), g_w.raw_data(),
                                                          has_bias ? g_b.raw_data() : nullptr);
    }
  }
  return {g_in, g_w, g_b};
}
}  // namespace

Tensor Conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              const Conv2dOptions& o) {
  const kernels::Conv2dShape s = CheckedConv2dShape(input, weight, bias, o, "Conv2d");
  Tensor in_d = Dense(input).Detach(), w_d = Dense(weight).Detach();
  Tensor b_d = bias.defined() ? Dense(bias).Detach() : Tensor();
  const Device device = input.device();
  Tensor out =
      Tensor::Empty({s.batch, s.out_channels, s.out_h(), s.out_w()}, input.dtype(), device);
  bool need_in = autograd::NeedsGrad(input);
  bool need_w = autograd::NeedsGrad(weight) || autograd::NeedsGrad(bias);
  bool has_bias = bias.defined();
  // When the weight gradient will be taken, the forward pass keeps its im2col columns for it
  // (on devices with the kernels, as many as the kernels say, up to kMaxKeptColumnsBytes): the
  // backward pass then does not rebuild them.
  Tensor columns;
  if (GradEnabled() && autograd::NeedsGrad(weight) && out.numel() > 0 &&
      dispatch::HasAll<dispatch::Conv2dKeptColumnsSizeKernel,
                       dispatch::Conv2dForwardKeepColumnsKernel,
                       dispatch::Conv2dBackwardWeightFromColumnsKernel>(device.type)) {
    const int64_t count =
        dispatch::Lookup<dispatch::Conv2dKeptColumnsSizeKernel>(device)(input.dtype(), s);
    if (count > 0 && count * static_cast<int64_t>(ElementSize(input.dtype())) <=
                         kMaxKeptColumnsBytes) {
      columns = Tensor::Empty({count}, input.dtype(), device);
    }
  }
  if (out.numel() > 0 && columns.defined()) {
    dispatch::Run<dispatch::Conv2dForwardKeepColumnsKernel>(
        device, input.dtype(), s, in_d.raw_data(), w_d.raw_data(),
        b_d.defined() ? b_d.raw_data() : nullptr, out.raw_data(), columns.raw_data());
  } else if (out.numel() > 0) {
    dispatch::Run<dispatch::Conv2dForwardKernel>(
        device, input.dtype(), s, in_d.raw_data(), w_d.raw_data(),
        b_d.defined() ? b_d.raw_data() : nullptr, out.raw_data());
  }
  return autograd::Record(out, {input, weight, bias}, "Conv2d", [=](const Tensor& g) {
    return Conv2dGradients(s, device, Dense(g), in_d, w_d, need_in, need_w, has_bias, columns);
  });
}

Tensor Conv2dMaxPoolRelu(const Tensor& input, const Tensor& weight, const Tensor& bias,
                         const Conv2dOptions& o, int64_t kh, int64_t kw) {
  const kernels::Conv2dShape s = CheckedConv2dShape(input, weight, bias, o, "Conv2dMaxPoolRelu");
  MT_CHECK(kh >= 1 && kw >= 1 && s.out_h() % kh == 0 && s.out_w() % kw == 0,
           "Conv2dMaxPoolRelu: a ", kh, "x", kw, " pooling window must divide the conv's ",
           s.out_h(), "x", s.out_w(), " output (input ", ShapeToString(input.shape()),
           ", weight ", ShapeToString(weight.shape()), ")");
  const Device device = input.device();
  const bool fused =
      dispatch::HasAll<dispatch::Conv2dMaxPoolReluAppliesKernel,
                       dispatch::Conv2dMaxPoolReluForwardKernel,
                       dispatch::MaxPool2dBackwardKernel, dispatch::BinaryKernel>(device.type) &&
      dispatch::Lookup<dispatch::Conv2dMaxPoolReluAppliesKernel>(device)(input.dtype(), s, kh,
                                                                        kw);
  // Elsewhere (another device, float64, a conv on im2col + Gemm) the three ops, with the same
  // values and gradients.
  if (!fused) return Relu(MaxPool2d(Conv2d(input, weight, bias, o), kh, kw));
  Tensor in_d = Dense(input).Detach(), w_d = Dense(weight).Detach();
  Tensor b_d = bias.defined() ? Dense(bias).Detach() : Tensor();
  kernels::Pool2dShape p;  // the conv output's planes
  p.planes = s.batch * s.out_channels;
  p.in_h = s.out_h();
  p.in_w = s.out_w();
  p.kernel_h = kh;
  p.kernel_w = kw;
  const Shape out_shape{s.batch, s.out_channels, p.out_h(), p.out_w()};
  Tensor out = Tensor::Empty(out_shape, input.dtype(), device);
  const bool need_in = autograd::NeedsGrad(input);
  const bool need_w = autograd::NeedsGrad(weight) || autograd::NeedsGrad(bias);
  const bool need_grad = GradEnabled() && (need_in || need_w);
  Tensor taps = need_grad ? Tensor::Empty(out_shape, DType::kInt64, device) : Tensor();
  if (out.numel() > 0) {
    dispatch::Run<dispatch::Conv2dMaxPoolReluForwardKernel>(
        device, input.dtype(), s, kh, kw, in_d.raw_data(), w_d.raw_data(),
        b_d.defined() ? b_d.raw_data() : nullptr, out.raw_data(),
        need_grad ? taps.data<int64_t>() : nullptr);
  }
  if (!need_grad) return out;
  const Tensor y = out.Detach();
  const bool has_bias = bias.defined();
  return autograd::Record(
      out, {input, weight, bias}, "Conv2dMaxPoolRelu", [=](const Tensor& g) {
        // ReLU's gradient passes where the output is positive (where the pooled value was),
        // max pooling's to each window's first maximum, then the conv's.
        const Tensor gd = Dense(g);
        Tensor g_relu = Tensor::Empty(y.shape(), y.dtype(), device);
        Tensor g_conv =
            Tensor::Empty({s.batch, s.out_channels, s.out_h(), s.out_w()}, y.dtype(), device);
        if (g_relu.numel() > 0) {
          dispatch::Run<dispatch::BinaryKernel>(
              device, y.dtype(), kernels::BinaryOp::kReluBackward, y.dim(), y.shape().data(),
              gd.raw_data(), gd.strides().data(), y.raw_data(), y.strides().data(),
              g_relu.raw_data());
        }
        if (g_conv.numel() > 0) {
          dispatch::Run<dispatch::MaxPool2dBackwardKernel>(device, y.dtype(), p,
                                                           g_relu.raw_data(),
                                                           taps.data<int64_t>(),
                                                           g_conv.raw_data());
        }
        return Conv2dGradients(s, device, g_conv, in_d, w_d, need_in, need_w, has_bias,
                               Tensor());
      });
}

Tensor Conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              const Conv1dOptions& o) {
  MT_CHECK(input.dim() == 3, "Conv1d: input must be (N, C_in, W), got ",
           ShapeToString(input.shape()));
  MT_CHECK(weight.dim() == 3, "Conv1d: weight must be (C_out, C_in, K), got ",
           ShapeToString(weight.shape()));
  // A 1-D conv is a 2-D conv over a height-1 image; the views carry the gradients.
  Conv2dOptions o2;
  o2.stride_w = o.stride;
  o2.pad_left = o.pad_left;
  o2.pad_right = o.pad_right;
  return Squeeze(Conv2d(Unsqueeze(input, 2), Unsqueeze(weight, 2), bias, o2), 2);
}

namespace {
// The (B, C, H, W) input's pooling geometry, checked: the kernel must divide H and W.
kernels::Pool2dShape PoolShape(const Tensor& input, int64_t kh, int64_t kw, const char* op) {
  MT_CHECK(input.dim() == 4, op, ": input must be (B, C, H, W), got ",
           ShapeToString(input.shape()));
  MT_CHECK(kh >= 1 && kw >= 1, op, ": kernel sizes must be >= 1, got (", kh, ", ", kw, ")");
  const int64_t h = input.size(2), w = input.size(3);
  MT_CHECK(h % kh == 0 && w % kw == 0, "Tile/pooling: a ", kh, "x", kw,
           " kernel must divide the input's height and width, but the input is ", h, "x", w,
           " (shape ", ShapeToString(input.shape()), ")");
  kernels::Pool2dShape s;
  s.planes = input.size(0) * input.size(1);
  s.in_h = h;
  s.in_w = w;
  s.kernel_h = kh;
  s.kernel_w = kw;
  return s;
}

Shape PooledShape(const Tensor& input, const kernels::Pool2dShape& s) {
  return {input.size(0), input.size(1), s.out_h(), s.out_w()};
}

// Pooling through a device's dedicated kernels (one pass over the input, no tiled copy) when it
// has them, else MiniTorch's composition of Tile and a reduction.
bool HasPoolKernels(Device device, bool max) {
  return max ? dispatch::HasAll<dispatch::MaxPool2dForwardKernel,
                                dispatch::MaxPool2dBackwardKernel>(device.type)
             : dispatch::HasAll<dispatch::AvgPool2dForwardKernel,
                                dispatch::AvgPool2dBackwardKernel>(device.type);
}
}  // namespace

Tensor Tile(const Tensor& input, int64_t kh, int64_t kw) {
  const kernels::Pool2dShape s = PoolShape(input, kh, kw, "Tile");
  const int64_t b = input.size(0), c = input.size(1), h = s.in_h, w = s.in_w;
  Tensor x = Reshape(input, {b, c, h / kh, kh, w / kw, kw});
  x = Contiguous(Permute(x, {0, 1, 2, 4, 3, 5}));
  return View(x, {b, c, h / kh, w / kw, kh * kw});
}

Tensor AvgPool2d(const Tensor& input, int64_t kh, int64_t kw) {
  const kernels::Pool2dShape s = PoolShape(input, kh, kw, "AvgPool2d");
  const Device device = input.device();
  // A device without pooling kernels composes MiniTorch's way: Mean over Tile's window dim.
  if (!HasPoolKernels(device, /*max=*/false)) return Mean(Tile(input, kh, kw), 4, false);
  CheckFloating(input, "AvgPool2d");
  Tensor in_d = Dense(input);
  Tensor out = Tensor::Empty(PooledShape(input, s), input.dtype(), device);
  if (out.numel() > 0) {
    dispatch::Run<dispatch::AvgPool2dForwardKernel>(device, input.dtype(), s, in_d.raw_data(),
                                                    out.raw_data());
  }
  return autograd::Record(
      out, {input}, "AvgPool2d",
      [=, in_shape = input.shape(), dtype = input.dtype()](const Tensor& g) {
        Tensor gd = Dense(g);
        Tensor gin = Tensor::Empty(in_shape, dtype, device);
        if (gin.numel() > 0) {
          dispatch::Run<dispatch::AvgPool2dBackwardKernel>(device, dtype, s, gd.raw_data(),
                                                           gin.raw_data());
        }
        return std::vector<Tensor>{gin};
      });
}

Tensor MaxPool2d(const Tensor& input, int64_t kh, int64_t kw) {
  const kernels::Pool2dShape s = PoolShape(input, kh, kw, "MaxPool2d");
  const Device device = input.device();
  if (!HasPoolKernels(device, /*max=*/true)) return Max(Tile(input, kh, kw), 4, false);
  CheckFloating(input, "MaxPool2d");
  Tensor in_d = Dense(input);
  const Shape out_shape = PooledShape(input, s);
  Tensor out = Tensor::Empty(out_shape, input.dtype(), device);
  // Window taps of the maxima, kept for the backward pass only when one will run.
  const bool need_grad = GradEnabled() && autograd::NeedsGrad(input);
  Tensor taps = need_grad ? Tensor::Empty(out_shape, DType::kInt64, device) : Tensor();
  if (out.numel() > 0) {
    dispatch::Run<dispatch::MaxPool2dForwardKernel>(
        device, input.dtype(), s, in_d.raw_data(), out.raw_data(),
        need_grad ? taps.data<int64_t>() : nullptr);
  }
  if (!need_grad) return out;
  return autograd::Record(
      out, {input}, "MaxPool2d",
      [=, in_shape = input.shape(), dtype = input.dtype()](const Tensor& g) {
        Tensor gd = Dense(g);
        Tensor gin = Tensor::Empty(in_shape, dtype, device);
        if (gin.numel() > 0) {
          dispatch::Run<dispatch::MaxPool2dBackwardKernel>(device, dtype, s, gd.raw_data(),
                                                           taps.data<int64_t>(), gin.raw_data());
        }
        return std::vector<Tensor>{gin};
      });
}

namespace {
template <bool kLog>
Tensor SoftmaxImpl(const Tensor& x, int64_t dim, const char* name) {
  CheckFloating(x, name);
  MT_CHECK(x.dim() > 0, name, " needs at least one dim, got a scalar");
  int64_t d = WrapDim(dim, x.dim(), name);
  auto [outer, n, inner] = SplitAt(x.shape(), d);
  Tensor xd = Dense(x);
  Tensor out = Tensor::Empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0) {
    dispatch::Run<dispatch::SoftmaxForwardKernel>(x.device(), x.dtype(), kLog, xd.raw_data(), outer,
                                                  n, inner, out.raw_data());
  }
  Tensor y = out.Detach();
  // Structured bindings are captured by init-capture: implicit capture of them is C++20, and
  // clang (scripts/fuzz.sh) refuses it in C++17.
  return autograd::Record(out, {x}, name,
                          [=, outer = outer, n = n, inner = inner](const Tensor& g) {
    Tensor gd = Dense(g);
    Tensor gin = Tensor::Empty(y.shape(), y.dtype(), y.device());
    if (gin.numel() > 0) {
      dispatch::Run<dispatch::SoftmaxBackwardKernel>(y.device(), y.dtype(), kLog, y.raw_data(),
                                                     gd.raw_data(), outer, n, inner,
                                                     gin.raw_data());
    }
    return std::vector<Tensor>{gin};
  });
}
}  // namespace

Tensor Softmax(const Tensor& x, int64_t dim) { return SoftmaxImpl<false>(x, dim, "Softmax"); }
Tensor LogSoftmax(const Tensor& x, int64_t dim) {
  return SoftmaxImpl<true>(x, dim, "LogSoftmax");
}

Tensor Dropout(const Tensor& x, double rate, bool training, Generator& gen) {
  CheckFloating(x, "Dropout");
  MT_CHECK(rate >= 0.0 && rate <= 1.0, "Dropout: rate must be in [0, 1], got ", rate);
  if (!training || rate == 0.0) return x;
  if (rate == 1.0) return Mul(x, Tensor::Zeros({}, x.dtype(), x.device()));
  const double keep = 1.0 - rate, scale = 1.0 / keep;
  Tensor mask = Tensor::Empty(x.shape(), x.dtype(), x.device());
  if (mask.numel() > 0) {
    dispatch::Run<dispatch::DropoutMaskKernel>(x.device(), x.dtype(), gen.engine(), mask.numel(),
                                               keep, scale, mask.raw_data());
  }
  return Mul(x, mask);
}

Tensor NllLoss(const Tensor& log_probs, const Tensor& target) {
  CheckFloating(log_probs, "NllLoss");
  MT_CHECK(log_probs.dim() == 2, "NllLoss: log_probs must be (N, C), got ",
           ShapeToString(log_probs.shape()));
  MT_CHECK(target.dtype() == DType::kInt64 && target.shape() == Shape{log_probs.size(0)},
           "NllLoss: target must be int64 of shape [", log_probs.size(0), "], got ",
           DTypeName(target.dtype()), " ", ShapeToString(target.shape()));
  MT_CHECK(log_probs.size(0) > 0, "NllLoss: empty batch");
  internal::CheckSameDevice(log_probs, target, "NllLoss");
  const int64_t n = log_probs.size(0), c = log_probs.size(1);
  const Device device = log_probs.device();
  // Detached: the backward closure must keep the ids, not the target's graph.
  const Tensor t = Dense(target).Detach();
  const dispatch::IndexError bad =
      dispatch::Run<dispatch::IndexCheckKernel>(device, t.data<int64_t>(), n, c);
  MT_CHECK(bad.position < 0, "NllLoss: target ", bad.value, " at position ", bad.position,
           " is outside [0, ", c, ")");
  Tensor lp = Dense(log_probs);
  Tensor out = Tensor::Empty({}, log_probs.dtype(), device);
  dispatch::Run<dispatch::NllLossForwardKernel>(device, log_probs.dtype(), lp.raw_data(),
                                                t.data<int64_t>(), n, c, out.raw_data());
  return autograd::Record(
      out, {log_probs, target}, "NllLoss",
      [=, shape = log_probs.shape(), dtype = log_probs.dtype()](const Tensor& g) {
        Tensor gd = Dense(g);
        Tensor grad = Tensor::Empty(shape, dtype, device);
        dispatch::Run<dispatch::NllLossBackwardKernel>(device, dtype, gd.raw_data(),
                                                       t.data<int64_t>(), n, c, grad.raw_data());
        return std::vector<Tensor>{grad, Tensor()};
      });
}

Tensor CrossEntropy(const Tensor& logits, const Tensor& target) {
  return NllLoss(LogSoftmax(logits, 1), target);
}

Tensor BinaryCrossEntropy(const Tensor& p, const Tensor& target) {
  CheckSameKind(p, target, "BinaryCrossEntropy");
  MT_CHECK(p.shape() == target.shape(), "BinaryCrossEntropy: probabilities ",
           ShapeToString(p.shape()), " and targets ", ShapeToString(target.shape()),
           " must have the same shape");
  return Neg(Mean(Add(Mul(target, Log(p)), Mul(1.0 - target, Log(1.0 - p)))));
}

Tensor BinaryCrossEntropyWithLogits(const Tensor& logits, const Tensor& target) {
  CheckSameKind(logits, target, "BinaryCrossEntropyWithLogits");
  MT_CHECK(logits.shape() == target.shape(), "BinaryCrossEntropyWithLogits: logits ",
           ShapeToString(logits.shape()), " and targets ", ShapeToString(target.shape()),
           " must have the same shape");
  // -[y log σ(x) + (1-y) log(1-σ(x))] = softplus(x) - x·y, finite for any x.
  return Mean(Sub(Softplus(logits), Mul(logits, target)));
}

Tensor Embedding(const Tensor& weight, const Tensor& ids) {
  CheckFloating(weight, "Embedding");
  MT_CHECK(weight.dim() == 2, "Embedding: weight must be (num_embeddings, dim), got ",
           ShapeToString(weight.shape()));
  MT_CHECK(ids.dtype() == DType::kInt64, "Embedding: ids must be int64, got ",
           DTypeName(ids.dtype()));
  internal::CheckSameDevice(weight, ids, "Embedding");
  const int64_t num = weight.size(0), dim = weight.size(1);
  const Device device = weight.device();
  Tensor ids_d = Dense(ids).Detach();
  const int64_t* idp = ids_d.data<int64_t>();
  const dispatch::IndexError bad =
      dispatch::Run<dispatch::IndexCheckKernel>(device, idp, ids_d.numel(), num);
  MT_CHECK(bad.position < 0, "Embedding: id ", bad.value, " at position ", bad.position,
           " is outside the table's [0, ", num, ")");
  Tensor w_d = Dense(weight);
  Shape shape = ids.shape();
  shape.push_back(dim);
  Tensor out = Tensor::Empty(shape, weight.dtype(), device);
  dispatch::Run<dispatch::EmbeddingForwardKernel>(device, weight.dtype(), w_d.raw_data(), dim, idp,
                                                  ids_d.numel(), out.raw_data());
  return autograd::Record(
      out, {weight, ids}, "Embedding",
      [=, w_shape = weight.shape(), dtype = weight.dtype()](const Tensor& g) {
        Tensor gd = Dense(g);
        Tensor gw = Tensor::Zeros(w_shape, dtype, device);
        dispatch::Run<dispatch::EmbeddingBackwardKernel>(
            device, dtype, gd.raw_data(), ids_d.data<int64_t>(), ids_d.numel(), dim, gw.raw_data());
        return std::vector<Tensor>{gw, Tensor()};
      });
}

}  // namespace mt
