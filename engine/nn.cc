#include "engine/nn.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"

namespace mt::nn {

NamedTensors Module::NamedParameters() const {
  NamedTensors out;
  CollectParameters("", &out);
  return out;
}

void Module::CollectParameters(const std::string& prefix, NamedTensors* out) const {
  for (const auto& [name, t] : params_) out->emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->CollectParameters(prefix + name + ".", out);
}

std::vector<Tensor> Module::Parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : NamedParameters()) out.push_back(t);
  return out;
}

int64_t Module::NumParameters() const {
  int64_t n = 0;
  for (const Tensor& t : Parameters()) n += t.numel();
  return n;
}

namespace {
// Offsets start at 64-byte boundaries, like Storage's own allocations, so kernels see the same
// alignment (and take the same code paths) as before flattening.
int64_t AlignUp(int64_t elements, DType dtype) {
  const int64_t per_line = std::max<int64_t>(1, 64 / static_cast<int64_t>(ElementSize(dtype)));
  return (elements + per_line - 1) / per_line * per_line;
}
}  // namespace

void Module::FlattenParameters() {
  MT_CHECK(flat_.empty(), "FlattenParameters: the parameters are already flat");
  std::vector<Tensor> params = Parameters();
  for (const Tensor& p : params) {
    FlatBuffer* buffer = nullptr;
    for (FlatBuffer& b : flat_) {
      if (b.dtype == p.dtype()) buffer = &b;
    }
    if (!buffer) {
      flat_.push_back(FlatBuffer{p.dtype(), Tensor(), Tensor(), {}});
      buffer = &flat_.back();
    }
    MT_CHECK(p.device() == Device::CPU(), "FlattenParameters: parameters must be on the CPU, got ",
             p.device().ToString());
    const int64_t offset =
        buffer->params.empty()
            ? 0
            : AlignUp(buffer->params.back().second + buffer->params.back().first.numel(),
                      p.dtype());
    buffer->params.emplace_back(p, offset);
  }
  for (FlatBuffer& b : flat_) {
    const auto& [last, last_offset] = b.params.back();
    b.values = Tensor::Zeros({last_offset + last.numel()}, b.dtype, last.device());
    b.grads = Tensor::Zeros(b.values.shape(), b.dtype, last.device());
    for (auto& [p, offset] : b.params) {
      CopyInto(MakeView(b.values, p.shape(), ContiguousStrides(p.shape()), offset), p);
      // Backward accumulates this parameter's gradient in place into its slot of the flat
      // gradient buffer (see TensorImpl::grad_home).
      p.impl()->grad_home =
          MakeView(b.grads, p.shape(), ContiguousStrides(p.shape()), offset).impl_ptr();
      // Re-pointing the shared TensorImpl moves every handle to the parameter (modules, the
      // optimiser) at once.
      TensorImpl* impl = p.impl();
      impl->storage = b.values.impl()->storage;
      impl->offset = offset;
      impl->strides = ContiguousStrides(impl->shape);
    }
  }
}

void Module::MoveTo(Device device) {
  for (FlatBuffer& b : flat_) {
    if (b.values.device() == device) continue;
    Tensor values = b.values.Detach().To(device);
    Tensor grads = Tensor::Zeros(b.grads.shape(), b.dtype, device);
    for (auto& [p, offset] : b.params) {
      TensorImpl* impl = p.impl();
      impl->storage = values.impl()->storage;  // same offset and strides in the new buffer
      impl->grad_home =
          MakeView(grads, p.shape(), ContiguousStrides(p.shape()), offset).impl_ptr();
      impl->grad.reset();
    }
    b.values = values;
    b.grads = grads;
  }
  // Parameters outside the flat buffers (registered after flattening, or never flattened).
  for (const Tensor& p : Parameters()) {
    if (p.device() == device) continue;
    Tensor moved = Contiguous(p.Detach()).To(device);
    TensorImpl* impl = p.impl();
    impl->storage = moved.impl()->storage;
    impl->offset = moved.offset();
    impl->strides = moved.strides();
    impl->grad.reset();
    impl->grad_home.reset();
  }
}

const Module::FlatBuffer* Module::FindFlat(DType dtype) const {
  for (const FlatBuffer& b : flat_) {
    if (b.dtype == dtype) return &b;
  }
  return nullptr;
}

Module::FlatBuffer* Module::FindFlat(DType dtype) {
  for (FlatBuffer& b : flat_) {
    if (b.dtype == dtype) return &b;
  }
  return nullptr;
}

Tensor Module::FlatParameters(DType dtype) const {
  const FlatBuffer* b = FindFlat(dtype);
  return b ? b->values : Tensor();
}

Tensor Module::GatherGradients(DType dtype) {
  MT_CHECK(is_flat(), "GatherGradients: call FlattenParameters first");
  FlatBuffer* b = FindFlat(dtype);
  if (!b) return Tensor();
  for (auto& [p, offset] : b->params) {
    TensorImpl* impl = p.impl();
    if (impl->grad == impl->grad_home) continue;  // backward wrote it in place
    const Tensor slot(impl->grad_home);
    if (impl->grad) {
      CopyInto(slot, Tensor(impl->grad).Detach());  // e.g. a gradient set by hand
    } else {
      FillInto(slot, 0.0);  // no gradient this step: reduce zeros, as DDP does
    }
    impl->grad = impl->grad_home;
  }
  return b->grads;
}

void Module::ShareParametersWith(const Module& source) {
  MT_CHECK(is_flat() && source.is_flat(), "ShareParametersWith: both modules must be flat");
  MT_CHECK(flat_.size() == source.flat_.size(), "ShareParametersWith: ", flat_.size(),
           " flat buffers here, ", source.flat_.size(), " in the source");
  const NamedTensors mine = NamedParameters(), theirs = source.NamedParameters();
  MT_CHECK(mine.size() == theirs.size(), "ShareParametersWith: ", mine.size(),
           " parameters here, ", theirs.size(), " in the source");
  size_t flat_count = 0, source_flat_count = 0;
  for (const FlatBuffer& b : flat_) flat_count += b.params.size();
  for (const FlatBuffer& b : source.flat_) source_flat_count += b.params.size();
  MT_CHECK(flat_count == mine.size() && source_flat_count == theirs.size(),
           "ShareParametersWith: every parameter must be in a flat buffer (", flat_count, " of ",
           mine.size(), " here, ", source_flat_count, " of ", theirs.size(),
           " in the source); register parameters before FlattenParameters");
  for (size_t i = 0; i < mine.size(); ++i) {
    MT_CHECK(mine[i].first == theirs[i].first && mine[i].second.shape() == theirs[i].second.shape() &&
                 mine[i].second.dtype() == theirs[i].second.dtype(),
             "ShareParametersWith: parameter ", i, " is ", mine[i].first, " ",
             ShapeToString(mine[i].second.shape()), " here but ", theirs[i].first, " ",
             ShapeToString(theirs[i].second.shape()), " in the source");
  }
  for (size_t k = 0; k < flat_.size(); ++k) {
    FlatBuffer& b = flat_[k];
    const FlatBuffer& from = source.flat_[k];
    MT_CHECK(b.dtype == from.dtype && b.values.shape() == from.values.shape() &&
                 b.params.size() == from.params.size(),
             "ShareParametersWith: flat buffer ", k, " differs in layout from the source's");
    MT_CHECK(from.values.device() == Device::CPU() && b.values.device() == Device::CPU(),
             "ShareParametersWith: parameters must be on the CPU");
    for (size_t i = 0; i < b.params.size(); ++i) {
      MT_CHECK(b.params[i].second == from.params[i].second,
               "ShareParametersWith: flat buffer ", k, " places parameter ", i, " elsewhere");
      b.params[i].first.impl()->storage = from.values.impl()->storage;  // same offset, strides
    }
    b.values = from.values;
  }
}

void Module::UnshareParameters() {
  MT_CHECK(is_flat(), "UnshareParameters: call FlattenParameters first");
  NoGradGuard no_grad;
  for (FlatBuffer& b : flat_) {
    const Tensor copy = Clone(b.values.Detach());
    for (auto& [p, offset] : b.params) p.impl()->storage = copy.impl()->storage;
    b.values = copy;
  }
}

bool Module::SharesParametersWith(const Module& source) const {
  if (flat_.empty() || flat_.size() != source.flat_.size()) return false;
  for (size_t k = 0; k < flat_.size(); ++k) {
    const FlatBuffer& b = flat_[k];
    const FlatBuffer& from = source.flat_[k];
    if (b.params.size() != from.params.size()) return false;
    if (b.values.impl()->storage != from.values.impl()->storage) return false;
    for (size_t i = 0; i < b.params.size(); ++i) {
      if (b.params[i].first.impl()->storage != from.values.impl()->storage) return false;
    }
  }
  return true;
}

void Module::Train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->Train(on);
}

void Module::ZeroGrad() {
  for (Tensor& t : Parameters()) t.ZeroGrad();
}

Tensor Module::RegisterParameter(const std::string& name, Tensor value) {
  for (const auto& [n, t] : params_) {
    MT_CHECK(n != name, "parameter '", name, "' is registered twice");
  }
  value.set_requires_grad(true);
  params_.emplace_back(name, value);
  return value;
}

namespace {
Tensor UniformInit(const Shape& shape, int64_t fan_in, Generator& gen, DType dtype) {
  // PyTorch's default (kaiming_uniform with a = sqrt(5)) reduces to U(±1/sqrt(fan_in)).
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  return RandUniform(shape, -bound, bound, gen, dtype);
}
}  // namespace

Linear::Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias,
               DType dtype) {
  MT_CHECK(in_features > 0 && out_features > 0, "Linear: sizes must be positive, got ",
           in_features, " -> ", out_features);
  weight_ = RegisterParameter("weight",
                              UniformInit({out_features, in_features}, in_features, gen, dtype));
  if (bias) bias_ = RegisterParameter("bias", UniformInit({out_features}, in_features, gen, dtype));
}

Tensor Linear::Forward(const Tensor& x) const {
  MT_CHECK(x.dim() >= 1 && x.size(-1) == weight_.size(1), "Linear: input's last dim must be ",
           weight_.size(1), ", got shape ", ShapeToString(x.shape()));
  Tensor y;
  if (x.dim() == 1) {
    y = Reshape(Matmul(Reshape(x, {1, x.size(0)}), Transpose(weight_, 0, 1)), {weight_.size(0)});
  } else {
    y = Matmul(x, Transpose(weight_, 0, 1));
  }
  return bias_.defined() ? Add(y, bias_) : y;
}

Conv1d::Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel, Generator& gen,
               Conv1dOptions options, bool bias, DType dtype)
    : options_(options) {
  MT_CHECK(in_channels > 0 && out_channels > 0 && kernel > 0,
           "Conv1d: channels and kernel must be positive");
  const int64_t fan_in = in_channels * kernel;
  weight_ = RegisterParameter("weight",
                              UniformInit({out_channels, in_channels, kernel}, fan_in, gen, dtype));
  if (bias) bias_ = RegisterParameter("bias", UniformInit({out_channels}, fan_in, gen, dtype));
}

Tensor Conv1d::Forward(const Tensor& x) const { return mt::Conv1d(x, weight_, bias_, options_); }

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
               Generator& gen, Conv2dOptions options, bool bias, DType dtype)
    : options_(options) {
  MT_CHECK(in_channels > 0 && out_channels > 0 && kernel_h > 0 && kernel_w > 0,
           "Conv2d: channels and kernel sizes must be positive");
  const int64_t fan_in = in_channels * kernel_h * kernel_w;
  weight_ = RegisterParameter(
      "weight", UniformInit({out_channels, in_channels, kernel_h, kernel_w}, fan_in, gen, dtype));
  if (bias) bias_ = RegisterParameter("bias", UniformInit({out_channels}, fan_in, gen, dtype));
}

Tensor Conv2d::Forward(const Tensor& x) const { return mt::Conv2d(x, weight_, bias_, options_); }

Tensor Conv2d::ForwardMaxPoolRelu(const Tensor& x, int64_t kh, int64_t kw) const {
  return mt::Conv2dMaxPoolRelu(x, weight_, bias_, options_, kh, kw);
}

Embedding::Embedding(int64_t num_embeddings, int64_t dim, Generator& gen, DType dtype) {
  MT_CHECK(num_embeddings > 0 && dim > 0, "Embedding: sizes must be positive, got ",
           num_embeddings, " x ", dim);
  weight_ = RegisterParameter("weight", RandNormal({num_embeddings, dim}, 0.0, 1.0, gen, dtype));
}

Tensor Embedding::Forward(const Tensor& ids) const { return mt::Embedding(weight_, ids); }

Dropout::Dropout(double rate, Generator* gen) : rate_(rate), gen_(gen) {
  MT_CHECK(rate >= 0.0 && rate <= 1.0, "Dropout: rate must be in [0, 1], got ", rate);
  MT_CHECK(gen != nullptr, "Dropout: needs a generator");
}

Tensor Dropout::Forward(const Tensor& x) const {
  return mt::Dropout(x, rate_, is_training(), *gen_);
}

}  // namespace mt::nn
