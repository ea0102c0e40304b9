// Strided walks for elementwise kernels: a shape and per-operand strides (in elements, 0 =
// broadcast), small enough to travel in a kernel's parameter block, and the flat index ->
// operand offsets map every thread computes. The host merges dims that are contiguous for
// every operand first, so a dense operand is walked as one flat dim (one multiply, no division).
#ifndef MT_KERNELS_CUDA_STRIDED_H_
#define MT_KERNELS_CUDA_STRIDED_H_

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/body.h"

#ifdef __CUDACC__
#define MT_UNROLL _Pragma("unroll")
#else
#define MT_UNROLL
#endif

namespace mt::kernels::cuda {

// Dims a strided walk supports after merging (PyTorch's TensorIterator allows 25; our models
// use at most 5 before merging).
constexpr int kMaxDims = 8;

// shape[0, ndim) with the innermost dim last; strides[k] for operand k.
template <int kOperands>
struct Strided {
  int ndim = 0;
  int64_t numel = 1;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kOperands][kMaxDims] = {};
};

// Builds the walk of `shape` for operands with the given strides (null: dense row-major),
// dropping size-1 dims and merging dims d, d+1 whenever stride[d] == stride[d+1] * shape[d+1]
// for every operand. Throws std::invalid_argument when more than kMaxDims dims remain.
template <int kOperands>
Strided<kOperands> MakeStrided(int ndim, const int64_t* shape,
                               const int64_t* const (&strides)[kOperands]) {
  Strided<kOperands> s;
  // Dense strides for operands given as null.
  int64_t dense[64];
  if (ndim > 64) throw std::invalid_argument("more than 64 dims");
  int64_t running = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    dense[d] = running;
    running *= shape[d];
  }
  s.numel = running;
  int out = 0;
  int64_t sh[64], st[kOperands][64];
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    sh[out] = shape[d];
    for (int k = 0; k < kOperands; ++k) st[k][out] = strides[k] ? strides[k][d] : dense[d];
    ++out;
  }
  // Merge from the inside out.
  int merged = 0;
  for (int d = 0; d < out; ++d) {
    bool can_merge = merged > 0;
    for (int k = 0; k < kOperands && can_merge; ++k) {
      can_merge = st[k][merged - 1] == st[k][d] * sh[d];
    }
    if (can_merge) {
      sh[merged - 1] *= sh[d];
      for (int k = 0; k < kOperands; ++k) st[k][merged - 1] = st[k][d];
    } else {
      sh[merged] = sh[d];
      for (int k = 0; k < kOperands; ++k) st[k][merged] = st[k][d];
      ++merged;
    }
  }
  if (merged > kMaxDims) {
    throw std::invalid_argument("a strided view with " + std::to_string(merged) +
                                " non-mergeable dims; CUDA kernels support at most " +
                                std::to_string(kMaxDims) + " (make the tensor contiguous first)");
  }
  s.ndim = merged;
  for (int d = 0; d < merged; ++d) {
    s.shape[d] = sh[d];
    for (int k = 0; k < kOperands; ++k) s.strides[k][d] = st[k][d];
  }
  return s;
}

// Offsets of flat (row-major) index i in each operand. The dim loop is unrolled with a guard,
// so the arrays stay in registers and the parameter block (no local-memory copy).
template <int kOperands>
MT_BODY void StridedOffsets(const Strided<kOperands>& s, int64_t i, int64_t (&offset)[kOperands]) {
  MT_UNROLL
  for (int k = 0; k < kOperands; ++k) offset[k] = 0;
  if (s.ndim == 1) {
    MT_UNROLL
    for (int k = 0; k < kOperands; ++k) offset[k] = i * s.strides[k][0];
    return;
  }
  MT_UNROLL
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d < s.ndim) {
      const int64_t idx = i % s.shape[d];
      i /= s.shape[d];
      MT_UNROLL
      for (int k = 0; k < kOperands; ++k) offset[k] += idx * s.strides[k][d];
    }
  }
}

}  // namespace mt::kernels::cuda

#endif  // MT_KERNELS_CUDA_STRIDED_H_
