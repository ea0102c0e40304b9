// The one point where ops reach kernels: a table of kernels per (op, device type).
//
// Each op's kernel signature is a struct below (its Fn type, dtype-erased: raw pointers plus
// the DType). An op looks up the kernel for its operands' device and calls it with the calling
// thread's kernels::Context:
//   dispatch::Run<dispatch::UnaryKernel>(out.device(), dtype, op, ndim, shape, in, strides, out);
// The CPU's kernels are registered in engine/backends/cpu.cc. Another device is one file like it
// (engine/backends/<device>.cc, filling the table for its Device::Type) plus one line in
// RegisterBuiltinKernels() (dispatch.cc), and an allocator (engine/allocator.h).
// A new op is a signature struct here, its registration in each backend file, and the op's
// call to Run<>.
#ifndef MT_ENGINE_DISPATCH_H_
#define MT_ENGINE_DISPATCH_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"
#include "kernels/context.h"
#include "kernels/op_params.h"

namespace mt::dispatch {

using kernels::Context;

// ---------------------------------------------------------------- kernel signatures
// Shapes in comments are per pointer; "strided" operands come with per-dim element strides,
// every other buffer is dense row-major. DType is the element type of the float operands.

// out = op(in).  in: strided view of shape (ndim dims)  out: prod(shape)
struct UnaryKernel {
  static constexpr const char* kName = "Unary";
  using Fn = void (*)(const Context&, DType, kernels::UnaryOp, int ndim, const int64_t* shape,
                      const void* in, const int64_t* in_strides, void* out);
};
// out = op(a, b), comparisons and ReluBackward included.  a, b: strided (0 = broadcast)
struct BinaryKernel {
  static constexpr const char* kName = "Binary";
  using Fn = void (*)(const Context&, DType, kernels::BinaryOp, int ndim, const int64_t* shape,
                      const void* a, const int64_t* a_strides, const void* b,
                      const int64_t* b_strides, void* out);
};
// out[i] = value converted to dtype (float32, float64 or int64).  out: (n)
struct FillKernel {
  static constexpr const char* kName = "Fill";
  using Fn = void (*)(const Context&, DType, void* out, int64_t n, double value);
};
// Dense copy of a strided view, any dtype (elem_size bytes per element).
struct StridedCopyKernel {
  static constexpr const char* kName = "StridedCopy";
  using Fn = void (*)(const Context&, size_t elem_size, int ndim, const int64_t* shape,
                      const void* in, const int64_t* in_strides, void* out);
};
// Dense `to` copy of a strided `from` view, converting each value through double.
struct CastKernel {
  static constexpr const char* kName = "Cast";
  using Fn = void (*)(const Context&, DType from, DType to, int ndim, const int64_t* shape,
                      const void* in, const int64_t* in_strides, void* out);
};
// dst (outer, size, inner)[:, start:start+length, :] = src (outer, length, inner).
struct CopyIntoSliceKernel {
  static constexpr const char* kName = "CopyIntoSlice";
  using Fn = void (*)(const Context&, size_t elem_size, int64_t outer, int64_t size, int64_t inner,
                      int64_t start, int64_t length, const void* src, void* dst);
};
// Copies nbytes between devices (or within one); registered by the non-CPU side's backend.
struct DeviceCopyKernel {
  static constexpr const char* kName = "DeviceCopy";
  using Fn = void (*)(const Context&, void* dst, Device dst_device, const void* src,
                      Device src_device, size_t nbytes);
};
// in (outer, n, inner) -> out (outer, inner), summed over n.
struct SumDimKernel {
  static constexpr const char* kName = "SumDim";
  using Fn = void (*)(const Context&, DType, const void* in, int64_t outer, int64_t n,
                      int64_t inner, void* out);
};
// Max over n and the first arg-max (int64, may be null).
struct MaxDimKernel {
  static constexpr const char* kName = "MaxDim";
  using Fn = void (*)(const Context&, DType, const void* in, int64_t outer, int64_t n,
                      int64_t inner, void* out, int64_t* argmax);
};
struct MaxDimBackwardKernel {
  static constexpr const char* kName = "MaxDimBackward";
  using Fn = void (*)(const Context&, DType, const void* grad_out, const int64_t* argmax,
                      int64_t outer, int64_t n, int64_t inner, void* grad_in);
};
// First id outside [0, limit) (position -1 if none).  ids: (n)
struct IndexError {
  int64_t position = -1;
  int64_t value = 0;
};
struct IndexCheckKernel {
  static constexpr const char* kName = "IndexCheck";
  using Fn = IndexError (*)(const Context&, const int64_t* ids, int64_t n, int64_t limit);
};
// ids (n) -> out (n, num_classes) of 0/1 in dtype (float32, float64 or int64).
struct OneHotKernel {
  static constexpr const char* kName = "OneHot";
  using Fn = void (*)(const Context&, DType, const int64_t* ids, int64_t n, int64_t num_classes,
                      void* out);
};
// C_p = op(A_p) op(B_p) + beta C_p for p < batch (see kernels/cpu/matmul.h).
struct BatchedGemmKernel {
  static constexpr const char* kName = "BatchedGemm";
  using Fn = void (*)(const Context&, DType, int64_t batch, bool trans_a, bool trans_b, int64_t m,
                      int64_t n, int64_t k, const void* a, int64_t stride_a, int64_t lda,
                      const void* b, int64_t stride_b, int64_t ldb, double beta, void* c,
                      int64_t stride_c, int64_t ldc);
};
// NCHW conv2d (see kernels/cpu/conv.h); bias / grad_bias may be null.
struct Conv2dForwardKernel {
  static constexpr const char* kName = "Conv2dForward";
  using Fn = void (*)(const Context&, DType, const kernels::Conv2dShape&, const void* input,
                      const void* weight, const void* bias, void* out);
};
struct Conv2dBackwardInputKernel {
  static constexpr const char* kName = "Conv2dBackwardInput";
  using Fn = void (*)(const Context&, DType, const kernels::Conv2dShape&, const void* grad_out,
                      const void* weight, void* grad_input);
};
struct Conv2dBackwardWeightKernel {
  static constexpr const char* kName = "Conv2dBackwardWeight";
  using Fn = void (*)(const Context&, DType, const kernels::Conv2dShape&, const void* grad_out,
                      const void* input, void* grad_weight, void* grad_bias);
};
// The same forward pass keeping every sample's im2col matrix in columns
// (Conv2dShape::columns_size() elements), and the weight gradient reading them back instead of
// rebuilding them from the input. Optional: a device without them runs the two above.
// Elements those columns take for this shape; 0: none worth keeping (run the pair above).
struct Conv2dKeptColumnsSizeKernel {
  static constexpr const char* kName = "Conv2dKeptColumnsSize";
  using Fn = int64_t (*)(DType, const kernels::Conv2dShape&);
};
struct Conv2dForwardKeepColumnsKernel {
  static constexpr const char* kName = "Conv2dForwardKeepColumns";
  using Fn = void (*)(const Context&, DType, const kernels::Conv2dShape&, const void* input,
                      const void* weight, const void* bias, void* out, void* columns);
};
struct Conv2dBackwardWeightFromColumnsKernel {
  static constexpr const char* kName = "Conv2dBackwardWeightFromColumns";
  using Fn = void (*)(const Context&, DType, const kernels::Conv2dShape&, const void* grad_out,
                      const void* input, const void* columns, void* grad_weight, void* grad_bias);
};
// relu(max_pool2d(conv2d(x))) in one pass (kernels/cpu/conv_pool.h), for the shapes Applies
// says; argmax may be null. Optional: the engine composes the three ops elsewhere.
struct Conv2dMaxPoolReluAppliesKernel {
  static constexpr const char* kName = "Conv2dMaxPoolReluApplies";
  using Fn = bool (*)(DType, const kernels::Conv2dShape&, int64_t kh, int64_t kw);
};
struct Conv2dMaxPoolReluForwardKernel {
  static constexpr const char* kName = "Conv2dMaxPoolReluForward";
  using Fn = void (*)(const Context&, DType, const kernels::Conv2dShape&, int64_t kh, int64_t kw,
                      const void* input, const void* weight, const void* bias, void* out,
                      int64_t* argmax);
};
// Non-overlapping 2-D pooling over (planes, in_h, in_w) (see kernels/cpu/pool.h). A device
// without these kernels pools through Tile + Max/Mean instead (engine/ops_nn.cc).
struct MaxPool2dForwardKernel {
  static constexpr const char* kName = "MaxPool2dForward";
  using Fn = void (*)(const Context&, DType, const kernels::Pool2dShape&, const void* in,
                      void* out, int64_t* argmax);
};
struct MaxPool2dBackwardKernel {
  static constexpr const char* kName = "MaxPool2dBackward";
  using Fn = void (*)(const Context&, DType, const kernels::Pool2dShape&, const void* grad_out,
                      const int64_t* argmax, void* grad_in);
};
struct AvgPool2dForwardKernel {
  static constexpr const char* kName = "AvgPool2dForward";
  using Fn = void (*)(const Context&, DType, const kernels::Pool2dShape&, const void* in,
                      void* out);
};
struct AvgPool2dBackwardKernel {
  static constexpr const char* kName = "AvgPool2dBackward";
  using Fn = void (*)(const Context&, DType, const kernels::Pool2dShape&, const void* grad_out,
                      void* grad_in);
};
// (Log-)softmax over n of (outer, n, inner).
struct SoftmaxForwardKernel {
  static constexpr const char* kName = "SoftmaxForward";
  using Fn = void (*)(const Context&, DType, bool log, const void* in, int64_t outer, int64_t n,
                      int64_t inner, void* out);
};
struct SoftmaxBackwardKernel {
  static constexpr const char* kName = "SoftmaxBackward";
  using Fn = void (*)(const Context&, DType, bool log, const void* out, const void* grad_out,
                      int64_t outer, int64_t n, int64_t inner, void* grad_in);
};
// mask[i] = DropoutUniform01(key, i) < keep ? scale : 0 (kernels/random_bits.h, counter-based:
// the same mask on every device), key = engine's next draw; engine advances n draws.  mask: (n)
struct DropoutMaskKernel {
  static constexpr const char* kName = "DropoutMask";
  using Fn = void (*)(const Context&, DType, std::mt19937_64& engine, int64_t n, double keep,
                      double scale, void* mask);
};
// Mean NLL of log_probs (n, c) at target (n) -> out (1); backward fills grad_in (n, c).
struct NllLossForwardKernel {
  static constexpr const char* kName = "NllLossForward";
  using Fn = void (*)(const Context&, DType, const void* log_probs, const int64_t* target,
                      int64_t n, int64_t c, void* out);
};
struct NllLossBackwardKernel {
  static constexpr const char* kName = "NllLossBackward";
  using Fn = void (*)(const Context&, DType, const void* grad_out, const int64_t* target, int64_t n,
                      int64_t c, void* grad_in);
};
// out (n_ids, dim) = weight (num, dim)[ids]; backward adds into grad_weight (caller zeroes).
struct EmbeddingForwardKernel {
  static constexpr const char* kName = "EmbeddingForward";
  using Fn = void (*)(const Context&, DType, const void* weight, int64_t dim, const int64_t* ids,
                      int64_t n_ids, void* out);
};
struct EmbeddingBackwardKernel {
  static constexpr const char* kName = "EmbeddingBackward";
  using Fn = void (*)(const Context&, DType, const void* grad_out, const int64_t* ids,
                      int64_t n_ids, int64_t dim, void* grad_weight);
};
// In-place optimiser steps on flat (n) buffers (see kernels/cpu/optim.h); hyper-parameters are
// converted to the parameter dtype by the kernel.
struct SgdStepKernel {
  static constexpr const char* kName = "SgdStep";
  using Fn = void (*)(const Context&, DType, int64_t n, void* param, const void* grad,
                      void* momentum_buf, double lr, double momentum, double weight_decay,
                      bool first_step);
};
struct AdamStepKernel {
  static constexpr const char* kName = "AdamStep";
  using Fn = void (*)(const Context&, DType, int64_t n, void* param, const void* grad, void* m,
                      void* v, double lr, double beta1, double beta2, double eps,
                      double weight_decay, int64_t step);
};

// ---------------------------------------------------------------- the table
// Registers the built-in backends once (called by Register and Lookup; cheap after the first).
void EnsureBuiltinKernels();

template <typename Op>
std::array<std::atomic<typename Op::Fn>, kMaxDeviceTypes>& Slots() {
  static std::array<std::atomic<typename Op::Fn>, kMaxDeviceTypes> slots{};
  return slots;
}

inline int TypeIndex(Device::Type type) {
  const int i = static_cast<int>(type);
  MT_CHECK(i >= 0 && i < kMaxDeviceTypes, "device type ", i, " is outside [0, ", kMaxDeviceTypes,
           ")");
  return i;
}

// Installs (replaces) the kernel of Op for a device type; null removes it.
template <typename Op>
void Register(Device::Type type, typename Op::Fn fn) {
  EnsureBuiltinKernels();
  Slots<Op>()[TypeIndex(type)].store(fn, std::memory_order_release);
}

// The kernel of Op for a device type, or null when none is registered.
template <typename Op>
typename Op::Fn Find(Device::Type type) {
  EnsureBuiltinKernels();
  return Slots<Op>()[TypeIndex(type)].load(std::memory_order_acquire);
}

// The kernel of Op for `device`; throws mt::Error when this build has none.
template <typename Op>
typename Op::Fn Lookup(Device device) {
  typename Op::Fn fn = Find<Op>(device.type);
  MT_CHECK(fn != nullptr, "no ", Op::kName, " kernel for device ", device.ToString(),
           " in this build; move the tensors to a device that has one (e.g. cpu) with To()");
  return fn;
}

// True when `type` has a kernel for every one of Ops: an op with an optional fast path (the
// pooling kernels, kept conv columns) takes it only then, else composes what every device has.
template <typename... Ops>
bool HasAll(Device::Type type) {
  return ((Find<Ops>(type) != nullptr) && ...);
}

// The context kernels launched from the calling thread get on `device`.
Context ContextFor(Device device);

// Looks up Op's kernel for `device` and calls it with the calling thread's context.
template <typename Op, typename... Args>
auto Run(Device device, Args&&... args) {
  return Lookup<Op>(device)(ContextFor(device), std::forward<Args>(args)...);
}

// Backend registration functions (one per backend file).
void RegisterCpuKernels();
// The CUDA device type's copy kernel (backends/cuda_copy.cc); nothing in a build without CUDA.
void RegisterCudaRuntimeKernels();
// engine/backends/cuda.cc; exists only in a build with CUDA (MT_WITH_CUDA).
void RegisterCudaKernels();

}  // namespace mt::dispatch

namespace mt {
// Every device this build can allocate on (index 0 of each device type with an allocator), CPU
// first. Tests that run every op on every device iterate over this.
std::vector<Device> AvailableDevices();
}  // namespace mt

#endif  // MT_ENGINE_DISPATCH_H_
