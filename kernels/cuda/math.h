// Scalar functions of the elementwise ops, for kernel bodies (host and device), with the CPU
// kernels' semantics (kernels/cpu/elementwise.cc): NaN propagation of relu and maximum, the
// overflow-free sigmoid and softplus.
#ifndef MT_KERNELS_CUDA_MATH_H_
#define MT_KERNELS_CUDA_MATH_H_

#include <cmath>

#include "kernels/cuda/body.h"
#include "kernels/op_params.h"

namespace mt::kernels::cuda {

template <typename T>
MT_BODY bool IsNan(T x) {
  return x != x;
}

template <typename T>
MT_BODY T ApplyUnary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::kCopy:
      return x;
    case UnaryOp::kNeg:
      return -x;
    case UnaryOp::kExp:
      return std::exp(x);
    case UnaryOp::kLog:
      return std::log(x);
    case UnaryOp::kRelu:
      return x < T(0) ? T(0) : x;
    case UnaryOp::kSigmoid: {
      const T e = std::exp(-std::fabs(x));
      const T r = T(1) / (T(1) + e);
      return x >= T(0) ? r : e * r;
    }
    case UnaryOp::kSoftplus:
      return (x < T(0) ? T(0) : x) + std::log1p(std::exp(-std::fabs(x)));
    case UnaryOp::kTanh:
      return std::tanh(x);
    case UnaryOp::kSqrt:
      return std::sqrt(x);
    case UnaryOp::kAbs:
      return std::fabs(x);
  }
  return x;
}

template <typename T>
MT_BODY T ApplyBinary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::kAdd:
      return a + b;
    case BinaryOp::kSub:
      return a - b;
    case BinaryOp::kMul:
      return a * b;
    case BinaryOp::kDiv:
      return a / b;
    case BinaryOp::kLt:
      return a < b ? T(1) : T(0);
    case BinaryOp::kEq:
      return a == b ? T(1) : T(0);
    case BinaryOp::kGt:
      return a > b ? T(1) : T(0);
    case BinaryOp::kMaximum:
      return (a > b || IsNan(a)) ? a : b;
    case BinaryOp::kReluBackward:
      return b > T(0) ? a : T(0);
    case BinaryOp::kPow:
      return std::pow(a, b);
  }
  return a;
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_MATH_H_
