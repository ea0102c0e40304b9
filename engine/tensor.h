// Strided tensors over shared storage (float32, float64, int64), with a device tag.
//
// A Tensor is a cheap handle (shared_ptr) to a TensorImpl: shape, strides and offset (in
// elements) into a Storage that views share. Views (Permute, Expand, Narrow, View) never copy;
// Contiguous() copies only when the layout is not already dense row-major.
// Autograd state (requires_grad, grad, grad_fn) lives on the TensorImpl; see autograd.h.
#ifndef MT_ENGINE_TENSOR_H_
#define MT_ENGINE_TENSOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/error.h"

namespace mt {

enum class DType { kFloat32, kFloat64, kInt64 };

size_t ElementSize(DType dtype);
const char* DTypeName(DType dtype);

// Where a tensor's storage lives. Only the CPU exists today; another device plugs in by
// registering an allocator (engine/allocator.h) and kernels (engine/dispatch.h) for its type.
struct Device {
  // Values index the per-device-type tables, so they stay below kMaxDeviceTypes.
  enum class Type : int {
    kCPU = 0,
    kCUDA = 1,
    // Reserved for tests that plug in a fake second device (host memory, test kernels).
    kTest = 7,
  };
  Type type = Type::kCPU;
  int index = 0;

  static Device CPU() { return Device{}; }
  std::string ToString() const;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// Size of the per-device-type tables (allocators, kernels).
constexpr int kMaxDeviceTypes = 8;

using Shape = std::vector<int64_t>;

std::string ShapeToString(const Shape& shape);
int64_t NumElements(const Shape& shape);
Shape ContiguousStrides(const Shape& shape);

class Allocator;

// A flat buffer on one device that views share, from that device's allocator (64-byte aligned
// on the CPU). Throws mt::Error for a device this build has no allocator for.
class Storage {
 public:
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  Allocator* allocator_ = nullptr;
};

class Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  DType dtype = DType::kFloat32;
  Shape shape;
  Shape strides;       // in elements; 0 along broadcast (expanded) dims
  int64_t offset = 0;  // in elements, into storage
  // Autograd.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // leaves only: accumulated by backward()
  // Leaves only, optional: a dense tensor of the leaf's shape (a view into a model's flat
  // gradient buffer) that backward() accumulates into in place instead of allocating `grad`;
  // `grad` then aliases it. ZeroGrad() still just drops `grad`.
  std::shared_ptr<TensorImpl> grad_home;
  std::shared_ptr<Node> grad_fn;     // non-leaves: the node that produced this tensor
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- Creation (new, contiguous storage on `device`).
  static Tensor Empty(const Shape& shape, DType dtype = DType::kFloat32,
                      Device device = Device::CPU());
  static Tensor Zeros(const Shape& shape, DType dtype = DType::kFloat32,
                      Device device = Device::CPU());
  static Tensor Ones(const Shape& shape, DType dtype = DType::kFloat32,
                     Device device = Device::CPU());
  static Tensor Full(const Shape& shape, double value, DType dtype = DType::kFloat32,
                     Device device = Device::CPU());
  // A 0-dim tensor.
  static Tensor Scalar(double value, DType dtype = DType::kFloat32, Device device = Device::CPU());
  // Row-major values; values.size() must equal the number of elements of shape.
  static Tensor FromVector(const std::vector<double>& values, const Shape& shape,
                           DType dtype = DType::kFloat32, Device device = Device::CPU());
  static Tensor FromInt64(const std::vector<int64_t>& values, const Shape& shape,
                          Device device = Device::CPU());
  // 0, 1, ..., n-1 as dtype.
  static Tensor Arange(int64_t n, DType dtype = DType::kFloat32, Device device = Device::CPU());

  // ---- Metadata.
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl()->shape; }
  const Shape& strides() const { return impl()->strides; }
  int64_t offset() const { return impl()->offset; }
  int64_t dim() const { return static_cast<int64_t>(impl()->shape.size()); }
  // Size of dim d; negative d counts from the end as in PyTorch.
  int64_t size(int64_t d) const;
  int64_t numel() const { return NumElements(impl()->shape); }
  DType dtype() const { return impl()->dtype; }
  Device device() const { return impl()->storage->device(); }
  bool is_contiguous() const;
  // This tensor on `device`: itself when already there, otherwise a dense copy that
  // gradients flow back through (to the original device).
  Tensor To(Device device) const;
  bool is_floating_point() const { return dtype() != DType::kInt64; }
  std::string ToString() const;  // shape, dtype and (small tensors) values

  // Pointer to the first element (storage + offset). T must match dtype().
  template <typename T>
  T* data() const;
  void* raw_data() const;

  // Values in logical row-major order, converted to double / int64 (copied to the host first
  // when the tensor lives on another device).
  std::vector<double> ToVector() const;
  std::vector<int64_t> ToInt64Vector() const;
  double item() const;  // one-element tensors only

  // ---- Autograd (see autograd.h for Backward, NoGradGuard).
  bool requires_grad() const { return impl()->requires_grad; }
  // Marks a leaf as a parameter/input whose gradient backward() accumulates.
  Tensor& set_requires_grad(bool on);
  bool is_leaf() const { return impl()->grad_fn == nullptr; }
  Tensor grad() const;  // undefined until a backward pass reached this leaf
  void ZeroGrad();      // drops the accumulated gradient
  // Runs reverse-mode autodiff from this tensor. A scalar output needs no seed; otherwise pass
  // `seed` (same shape). Frees the graph afterwards unless retain_graph.
  void Backward(const Tensor& seed = Tensor(), bool retain_graph = false) const;
  // Same storage, cut from the graph.
  Tensor Detach() const;

  // Inline: every shape(), strides() and data() goes through it (~2 % of a LeNet-5 step
  // when it was a call).
  TensorImpl* impl() const {
    if (__builtin_expect(impl_ == nullptr, 0)) ThrowUndefined();
    return impl_.get();
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool SameAs(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  [[noreturn]] static void ThrowUndefined();
  std::shared_ptr<TensorImpl> impl_;
};

// A new tensor that shares `base`'s storage with another layout (for view ops).
Tensor MakeView(const Tensor& base, Shape shape, Shape strides, int64_t offset);

// Checks that `t` has dtype float32/float64 (op names the caller).
void CheckFloating(const Tensor& t, const char* op);
// Checks that a and b have the same dtype and device.
void CheckSameKind(const Tensor& a, const Tensor& b, const char* op);

}  // namespace mt

#endif  // MT_ENGINE_TENSOR_H_
