// Elementwise CPU kernels on raw strided memory. No Tensor objects here: callers pass pointers,
// a shape and per-operand strides (in elements; 0 means "broadcast along this dim").
// Outputs are always dense row-major (contiguous) buffers of prod(shape) elements.
// Parallelised with OpenMP over rows (all dims but the last); serial when called inside a
// parallel region.
#ifndef MT_KERNELS_CPU_ELEMENTWISE_H_
#define MT_KERNELS_CPU_ELEMENTWISE_H_

#include <cstddef>
#include <cstdint>

namespace mt::kernels::cpu {

enum class UnaryOp {
  kCopy,      // y = x
  kNeg,       // y = -x
  kExp,       // y = exp(x)
  kLog,       // y = log(x)
  kRelu,      // y = max(x, 0)
  kSigmoid,   // y = 1 / (1 + exp(-x)), computed without overflow for large |x|
  kSoftplus,  // y = log(1 + exp(x)), stable: max(x,0) + log1p(exp(-|x|))
  kTanh,      // y = tanh(x)
  kSqrt,      // y = sqrt(x)
  kAbs,       // y = |x|
};

enum class BinaryOp {
  kAdd,           // a + b
  kSub,           // a - b
  kMul,           // a * b
  kDiv,           // a / b
  kLt,            // a < b  ? 1 : 0
  kEq,            // a == b ? 1 : 0
  kGt,            // a > b  ? 1 : 0
  kMaximum,       // max(a, b)
  kReluBackward,  // b > 0 ? a : 0   (a = upstream gradient, b = relu input)
  kPow,           // pow(a, b)
};

// out[i] = op(in[i]) for every multi-index i of `shape` (ndim dims; ndim == 0 is a scalar).
// in: strided by in_strides; out: contiguous, prod(shape) elements.
template <typename T>
void Unary(UnaryOp op, int ndim, const int64_t* shape, const T* in, const int64_t* in_strides,
           T* out);

// out[i] = op(a[i], b[i]); a and b strided (broadcast via stride 0), out contiguous.
template <typename T>
void Binary(BinaryOp op, int ndim, const int64_t* shape, const T* a, const int64_t* a_strides,
            const T* b, const int64_t* b_strides, T* out);

// Gathers a strided view into a contiguous buffer, for any element type of size elem_size bytes
// (4 or 8; float, double, int64). in/out are byte pointers to the first element.
void StridedCopy(size_t elem_size, int ndim, const int64_t* shape, const void* in,
                 const int64_t* in_strides, void* out);

// out[i] = value for i in [0, n).
template <typename T>
void Fill(T* out, int64_t n, T value);

// y[i] += alpha * x[i] for i in [0, n) (gradient accumulation).
template <typename T>
void Axpy(int64_t n, T alpha, const T* x, T* y);

}  // namespace mt::kernels::cpu

#endif  // MT_KERNELS_CPU_ELEMENTWISE_H_
