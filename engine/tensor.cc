#include "engine/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "absl/strings/str_join.h"
#include "engine/allocator.h"
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"

namespace mt {

size_t ElementSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return 4;
    case DType::kFloat64:
    case DType::kInt64:
      return 8;
  }
  return 0;
}

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kInt64:
      return "int64";
  }
  return "?";
}

std::string Device::ToString() const {
  switch (type) {
    case Type::kCPU:
      return "cpu";
    case Type::kCUDA:
      return absl::StrCat("cuda:", index);
    case Type::kTest:
      return absl::StrCat("test:", index);
  }
  return absl::StrCat("device", static_cast<int>(type), ":", index);
}

std::string ShapeToString(const Shape& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Shape ContiguousStrides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

Storage::Storage(size_t nbytes, Device device)
    : nbytes_(nbytes), device_(device), allocator_(GetAllocator(device.type)) {
  MT_CHECK(allocator_ != nullptr, "storage on ", device.ToString(),
           " is not supported by this build; use device cpu");
  data_ = allocator_->AllocateOn(device, nbytes);
}

Storage::~Storage() { allocator_->FreeOn(device_, data_, nbytes_); }

void Tensor::ThrowUndefined() {
  MT_CHECK(false, "use of an undefined (empty) Tensor");
  std::abort();  // not reached: MT_CHECK(false, ...) throws
}

Tensor Tensor::Empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t s : shape) {
    MT_CHECK(s >= 0, "tensor sizes must be non-negative, got ", ShapeToString(shape));
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(NumElements(shape) * ElementSize(dtype), device);
  impl->dtype = dtype;
  impl->shape = shape;
  impl->strides = ContiguousStrides(shape);
  return Tensor(std::move(impl));
}

Tensor Tensor::Full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Empty(shape, dtype, device);
  FillInto(t, value);
  return t;
}

Tensor Tensor::Zeros(const Shape& shape, DType dtype, Device device) {
  return Full(shape, 0.0, dtype, device);
}
Tensor Tensor::Ones(const Shape& shape, DType dtype, Device device) {
  return Full(shape, 1.0, dtype, device);
}
Tensor Tensor::Scalar(double value, DType dtype, Device device) {
  return Full({}, value, dtype, device);
}

Tensor Tensor::FromVector(const std::vector<double>& values, const Shape& shape, DType dtype,
                          Device device) {
  // Host values are converted on the host, then copied to the device in one transfer.
  if (device.type != Device::Type::kCPU) return FromVector(values, shape, dtype).To(device);
  MT_CHECK(static_cast<int64_t>(values.size()) == NumElements(shape), "FromVector: ",
           values.size(), " values cannot fill shape ", ShapeToString(shape), " (needs ",
           NumElements(shape), ")");
  Tensor t = Empty(shape, dtype);
  for (size_t i = 0; i < values.size(); ++i) {
    switch (dtype) {
      case DType::kFloat32:
        t.data<float>()[i] = static_cast<float>(values[i]);
        break;
      case DType::kFloat64:
        t.data<double>()[i] = values[i];
        break;
      case DType::kInt64:
        t.data<int64_t>()[i] = static_cast<int64_t>(values[i]);
        break;
    }
  }
  return t;
}

Tensor Tensor::FromInt64(const std::vector<int64_t>& values, const Shape& shape, Device device) {
  if (device.type != Device::Type::kCPU) return FromInt64(values, shape).To(device);
  MT_CHECK(static_cast<int64_t>(values.size()) == NumElements(shape), "FromInt64: ",
           values.size(), " values cannot fill shape ", ShapeToString(shape));
  Tensor t = Empty(shape, DType::kInt64);
  if (!values.empty()) std::memcpy(t.data<int64_t>(), values.data(), values.size() * 8);
  return t;
}

Tensor Tensor::Arange(int64_t n, DType dtype, Device device) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
  return FromVector(v, {n}, dtype, device);
}

int64_t Tensor::size(int64_t d) const {
  int64_t nd = dim();
  MT_CHECK(d >= -nd && d < nd, "dimension ", d, " is out of range for a tensor of shape ",
           ShapeToString(shape()), " (valid: ", -nd, "..", nd - 1, ")");
  return shape()[d < 0 ? d + nd : d];
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape()[d] == 1) continue;  // any stride is fine along a size-1 dim
    if (strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

template <typename T>
T* Tensor::data() const {
  constexpr DType want = std::is_same_v<T, float>    ? DType::kFloat32
                         : std::is_same_v<T, double> ? DType::kFloat64
                                                     : DType::kInt64;
  MT_CHECK(dtype() == want, "data<", DTypeName(want), ">() called on a ", DTypeName(dtype()),
           " tensor");
  return static_cast<T*>(impl()->storage->data()) + impl()->offset;
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int64_t* Tensor::data<int64_t>() const;

void* Tensor::raw_data() const {
  return static_cast<char*>(impl()->storage->data()) + impl()->offset * ElementSize(dtype());
}

namespace {
// Dense host copy of any layout, in logical row-major order.
std::vector<char> DenseBytes(const Tensor& t) {
  std::vector<char> bytes(t.numel() * ElementSize(t.dtype()));
  if (t.numel() == 0) return bytes;
  const Tensor host = t.device().type == Device::Type::kCPU ? t : t.Detach().To(Device::CPU());
  dispatch::Run<dispatch::StridedCopyKernel>(Device::CPU(), ElementSize(host.dtype()),
                                             static_cast<int>(host.dim()), host.shape().data(),
                                             host.raw_data(), host.strides().data(), bytes.data());
  return bytes;
}
}  // namespace

std::vector<double> Tensor::ToVector() const {
  std::vector<char> bytes = DenseBytes(*this);
  std::vector<double> out(numel());
  for (int64_t i = 0; i < numel(); ++i) {
    switch (dtype()) {
      case DType::kFloat32:
        out[i] = reinterpret_cast<const float*>(bytes.data())[i];
        break;
      case DType::kFloat64:
        out[i] = reinterpret_cast<const double*>(bytes.data())[i];
        break;
      case DType::kInt64:
        out[i] = static_cast<double>(reinterpret_cast<const int64_t*>(bytes.data())[i]);
        break;
    }
  }
  return out;
}

std::vector<int64_t> Tensor::ToInt64Vector() const {
  if (dtype() == DType::kInt64) {
    std::vector<char> bytes = DenseBytes(*this);
    std::vector<int64_t> out(numel());
    if (numel()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  std::vector<double> v = ToVector();
  return std::vector<int64_t>(v.begin(), v.end());
}

double Tensor::item() const {
  MT_CHECK(numel() == 1, "item() needs a one-element tensor, got shape ", ShapeToString(shape()));
  return ToVector()[0];
}

std::string Tensor::ToString() const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(shape=" << ShapeToString(shape()) << ", dtype=" << DTypeName(dtype());
  if (numel() <= 32) os << ", values=[" << absl::StrJoin(ToVector(), ", ") << "]";
  os << ")";
  return os.str();
}

Tensor& Tensor::set_requires_grad(bool on) {
  MT_CHECK(!on || is_floating_point(), "only float tensors can require gradients, got ",
           DTypeName(dtype()));
  MT_CHECK(is_leaf() || on, "cannot clear requires_grad on a non-leaf tensor; use Detach()");
  impl()->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  return impl()->grad ? Tensor(impl()->grad) : Tensor();
}

void Tensor::ZeroGrad() { impl()->grad.reset(); }

Tensor Tensor::Detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->dtype = impl_->dtype;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->offset = impl_->offset;
  return Tensor(std::move(impl));
}

void Tensor::Backward(const Tensor& seed, bool retain_graph) const {
  autograd::RunBackward(*this, seed, retain_graph);
}

Tensor MakeView(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->dtype = base.dtype();
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  return Tensor(std::move(impl));
}

void CheckFloating(const Tensor& t, const char* op) {
  MT_CHECK(t.defined(), op, ": got an undefined tensor");
  MT_CHECK(t.is_floating_point(), op, " needs a float32 or float64 tensor, got ",
           DTypeName(t.dtype()), " of shape ", ShapeToString(t.shape()));
}

void CheckSameKind(const Tensor& a, const Tensor& b, const char* op) {
  MT_CHECK(a.defined() && b.defined(), op, ": got an undefined tensor");
  MT_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ (", DTypeName(a.dtype()), " vs ",
           DTypeName(b.dtype()), "); convert one with ToDType first");
  MT_CHECK(a.device() == b.device(), op, ": tensors are on different devices (",
           a.device().ToString(), " vs ", b.device().ToString(), ")");
}

}  // namespace mt
