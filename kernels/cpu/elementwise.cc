#include "kernels/cpu/elementwise.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace mt::kernels::cpu {
namespace {

// Elements per parallel work item. Large enough that turning a flat index back into a
// multi-index (ndim divisions) is noise, small enough to balance threads on big tensors.
constexpr int64_t kChunk = 16384;
// Below this much work (elements x relative cost) a parallel region costs more than it saves.
constexpr int64_t kMinParallelWork = 1 << 16;
// Relative costs, so transcendental ops go parallel at smaller sizes than additions.
constexpr int64_t kCheap = 1;
constexpr int64_t kTranscendental = 8;

// A shape with one stride vector per input, after dropping size-1 dims and merging neighbours
// that every operand walks as one. A dense operand then becomes a single long dim, which is
// what lets the innermost loop vectorise.
template <int kNumIn>
struct StridedLayout {
  std::vector<int64_t> shape;
  std::vector<int64_t> strides[kNumIn];
  int64_t numel = 1;
};

template <int kNumIn>
StridedLayout<kNumIn> Coalesce(int ndim, const int64_t* shape,
                               const int64_t* const (&strides)[kNumIn]) {
  StridedLayout<kNumIn> l;
  for (int d = 0; d < ndim; ++d) l.numel *= shape[d];
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;  // Never stepped along, so its stride is irrelevant.
    bool merge = !l.shape.empty();
    for (int t = 0; t < kNumIn && merge; ++t) {
      merge = l.strides[t].back() == strides[t][d] * shape[d];
    }
    if (merge) {
      l.shape.back() *= shape[d];
      for (int t = 0; t < kNumIn; ++t) l.strides[t].back() = strides[t][d];
    } else {
      l.shape.push_back(shape[d]);
      for (int t = 0; t < kNumIn; ++t) l.strides[t].push_back(strides[t][d]);
    }
  }
  if (l.shape.empty()) {  // Scalar, or all dims of size 1.
    l.shape.push_back(1);
    for (int t = 0; t < kNumIn; ++t) l.strides[t].push_back(0);
  }
  return l;
}

// Calls run(out_pos, len, in_offsets, inner_strides) for consecutive runs along the innermost
// dim, covering output elements [0, numel) in row-major order. The output is contiguous, so the
// flat range is split into chunks across threads regardless of how rows are shaped: a single
// long row parallelises as well as many short ones.
template <int kNumIn, typename Run>
void ForEachRun(int threads, const StridedLayout<kNumIn>& l, int64_t cost, Run run) {
  if (l.numel == 0) return;
  const int nd = static_cast<int>(l.shape.size());
  const int64_t inner = l.shape[nd - 1];
  int64_t inner_strides[kNumIn];
  for (int t = 0; t < kNumIn; ++t) inner_strides[t] = l.strides[t][nd - 1];
  const int64_t num_chunks = (l.numel + kChunk - 1) / kChunk;
  const bool parallel =
      num_chunks > 1 && !omp_in_parallel() && l.numel * cost >= kMinParallelWork;
#pragma omp parallel for schedule(static) num_threads(threads) if (parallel)
  for (int64_t chunk = 0; chunk < num_chunks; ++chunk) {
    int64_t pos = chunk * kChunk;
    const int64_t end = std::min(l.numel, pos + kChunk);
    constexpr int kSmallRank = 8;
    int64_t idx_small[kSmallRank];
    std::vector<int64_t> idx_big;
    int64_t* idx = idx_small;
    if (nd > kSmallRank) {
      idx_big.resize(nd);
      idx = idx_big.data();
    }
    int64_t off[kNumIn] = {};
    int64_t rem = pos;
    for (int d = nd - 1; d >= 0; --d) {
      idx[d] = rem % l.shape[d];
      rem /= l.shape[d];
      for (int t = 0; t < kNumIn; ++t) off[t] += idx[d] * l.strides[t][d];
    }
    while (pos < end) {
      const int64_t len = std::min(inner - idx[nd - 1], end - pos);
      run(pos, len, off, inner_strides);
      pos += len;
      idx[nd - 1] += len;
      for (int t = 0; t < kNumIn; ++t) off[t] += len * inner_strides[t];
      if (idx[nd - 1] < inner) continue;
      idx[nd - 1] = 0;
      for (int t = 0; t < kNumIn; ++t) off[t] -= inner * inner_strides[t];
      for (int d = nd - 2; d >= 0; --d) {
        ++idx[d];
        for (int t = 0; t < kNumIn; ++t) off[t] += l.strides[t][d];
        if (idx[d] < l.shape[d]) break;
        idx[d] = 0;
        for (int t = 0; t < kNumIn; ++t) off[t] -= l.shape[d] * l.strides[t][d];
      }
    }
  }
}

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Side of the square tiles a transposed view is copied in.
constexpr int64_t kTile = 32;

// A view whose last dim is strided while the one before it is unit-stride (a transposed matrix,
// possibly batched, as Contiguous() of a permuted tensor sees it) is walked in square tiles:
// going along output rows would touch a new cache line for every element read, whereas a
// tile's input lines stay in L1 for all of its rows. Returns false if the pattern does not apply.
// out: (batch..., rows, cols) contiguous; in: unit stride along rows, stride sc along cols.
template <typename In, typename Out, typename F>
bool TiledTranspose(int threads, const StridedLayout<1>& l, const In* in, Out* out, int64_t cost,
                    F f) {
  const int nd = static_cast<int>(l.shape.size());
  if (nd < 2 || l.strides[0][nd - 2] != 1) return false;
  const int64_t rows = l.shape[nd - 2], cols = l.shape[nd - 1], sc = l.strides[0][nd - 1];
  if (sc == 0 || sc == 1 || rows < kTile || cols < kTile) return false;
  const int64_t row_tiles = CeilDiv(rows, kTile);
  const int64_t tasks = l.numel / (rows * cols) * row_tiles;
  const bool parallel = tasks > 1 && !omp_in_parallel() && l.numel * cost >= kMinParallelWork;
#pragma omp parallel for schedule(static) num_threads(threads) if (parallel)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t batch = t / row_tiles;
    const int64_t r0 = (t % row_tiles) * kTile, r1 = std::min(rows, r0 + kTile);
    int64_t off = 0;
    for (int64_t d = nd - 3, rem = batch; d >= 0; --d) {
      off += (rem % l.shape[d]) * l.strides[0][d];
      rem /= l.shape[d];
    }
    const In* src = in + off;
    Out* dst = out + batch * rows * cols;
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t c1 = std::min(cols, c0 + kTile);
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = c0; c < c1; ++c) dst[r * cols + c] = f(src[r + c * sc]);
      }
    }
  }
  return true;
}

template <typename In, typename Out, typename F>
void UnaryApply(int threads, int ndim, const int64_t* shape, const In* in,
                const int64_t* in_strides, Out* out, int64_t cost, F f) {
  const int64_t* const strides[1] = {in_strides};
  const auto layout = Coalesce<1>(ndim, shape, strides);
  if (layout.numel == 0 || TiledTranspose(threads, layout, in, out, cost, f)) return;
  ForEachRun<1>(threads, layout, cost,
                [&](int64_t pos, int64_t len, const int64_t* off, const int64_t* s) {
                  const In* x = in + off[0];
                  Out* y = out + pos;
                  const int64_t sx = s[0];
                  if (sx == 1) {
#pragma omp simd
                    for (int64_t i = 0; i < len; ++i) y[i] = f(x[i]);
                  } else if (sx == 0) {
                    const Out v = f(x[0]);
                    std::fill(y, y + len, v);
                  } else {
                    for (int64_t i = 0; i < len; ++i) y[i] = f(x[i * sx]);
                  }
                });
}

template <typename T, typename F>
void BinaryApply(int threads, int ndim, const int64_t* shape, const T* a, const int64_t* a_strides,
                 const T* b, const int64_t* b_strides, T* out, int64_t cost, F f) {
  const int64_t* const strides[2] = {a_strides, b_strides};
  const auto layout = Coalesce<2>(ndim, shape, strides);
  ForEachRun<2>(threads, layout, cost,
                [&](int64_t pos, int64_t len, const int64_t* off, const int64_t* s) {
                  const T* x = a + off[0];
                  const T* z = b + off[1];
                  T* y = out + pos;
                  const int64_t sa = s[0], sb = s[1];
                  // The common broadcast patterns get loops with unit or no stride so they
                  // vectorise.
                  if (sa == 1 && sb == 1) {
#pragma omp simd
                    for (int64_t i = 0; i < len; ++i) y[i] = f(x[i], z[i]);
                  } else if (sa == 1 && sb == 0) {
                    const T zv = z[0];
#pragma omp simd
                    for (int64_t i = 0; i < len; ++i) y[i] = f(x[i], zv);
                  } else if (sa == 0 && sb == 1) {
                    const T xv = x[0];
#pragma omp simd
                    for (int64_t i = 0; i < len; ++i) y[i] = f(xv, z[i]);
                  } else {
                    for (int64_t i = 0; i < len; ++i) y[i] = f(x[i * sa], z[i * sb]);
                  }
                });
}

template <typename T>
T Sigmoid(T x) {
  // exp of a non-positive argument cannot overflow; the two halves are mirror images.
  const T e = std::exp(-std::abs(x));
  const T r = T(1) / (T(1) + e);
  return x >= T(0) ? r : e * r;
}

template <typename T>
T Softplus(T x) {
  // std::max keeps NaN when x is NaN, since the comparison NaN < 0 is false.
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

// Copies any trivially copyable element type through the strided walker.
template <typename U>
void StridedCopyAs(int threads, int ndim, const int64_t* shape, const void* in,
                   const int64_t* in_strides, void* out) {
  UnaryApply<U, U>(threads, ndim, shape, static_cast<const U*>(in), in_strides,
                   static_cast<U*>(out), kCheap, [](U x) { return x; });
}

}  // namespace

// in: strided view of `shape`  out: contiguous, prod(shape) elements.
template <typename T>
void Unary(const Context& ctx, UnaryOp op, int ndim, const int64_t* shape, const T* in,
           const int64_t* in_strides, T* out) {
  auto apply = [&](int64_t cost, auto f) {
    UnaryApply<T, T>(ctx.threads, ndim, shape, in, in_strides, out, cost, f);
  };
  switch (op) {
    case UnaryOp::kCopy:
      return apply(kCheap, [](T x) { return x; });
    case UnaryOp::kNeg:
      return apply(kCheap, [](T x) { return -x; });
    case UnaryOp::kExp:
      return apply(kTranscendental, [](T x) { return std::exp(x); });
    case UnaryOp::kLog:
      return apply(kTranscendental, [](T x) { return std::log(x); });
    case UnaryOp::kRelu:
      // Written so NaN propagates, as torch.relu does.
      return apply(kCheap, [](T x) { return x < T(0) ? T(0) : x; });
    case UnaryOp::kSigmoid:
      return apply(kTranscendental, [](T x) { return Sigmoid(x); });
    case UnaryOp::kSoftplus:
      return apply(kTranscendental, [](T x) { return Softplus(x); });
    case UnaryOp::kTanh:
      return apply(kTranscendental, [](T x) { return std::tanh(x); });
    case UnaryOp::kSqrt:
      return apply(kCheap, [](T x) { return std::sqrt(x); });
    case UnaryOp::kAbs:
      return apply(kCheap, [](T x) { return std::abs(x); });
  }
}

// a, b: strided views of `shape` (stride 0 broadcasts)  out: contiguous, prod(shape) elements.
template <typename T>
void Binary(const Context& ctx, BinaryOp op, int ndim, const int64_t* shape, const T* a,
            const int64_t* a_strides, const T* b, const int64_t* b_strides, T* out) {
  auto apply = [&](int64_t cost, auto f) {
    BinaryApply<T>(ctx.threads, ndim, shape, a, a_strides, b, b_strides, out, cost, f);
  };
  switch (op) {
    case BinaryOp::kAdd:
      return apply(kCheap, [](T x, T y) { return x + y; });
    case BinaryOp::kSub:
      return apply(kCheap, [](T x, T y) { return x - y; });
    case BinaryOp::kMul:
      return apply(kCheap, [](T x, T y) { return x * y; });
    case BinaryOp::kDiv:
      return apply(kCheap, [](T x, T y) { return x / y; });
    case BinaryOp::kLt:
      return apply(kCheap, [](T x, T y) { return x < y ? T(1) : T(0); });
    case BinaryOp::kEq:
      return apply(kCheap, [](T x, T y) { return x == y ? T(1) : T(0); });
    case BinaryOp::kGt:
      return apply(kCheap, [](T x, T y) { return x > y ? T(1) : T(0); });
    case BinaryOp::kMaximum:
      // NaN in either operand propagates, as torch.maximum does.
      return apply(kCheap, [](T x, T y) { return (x > y || x != x) ? x : y; });
    case BinaryOp::kReluBackward:
      return apply(kCheap, [](T g, T x) { return x > T(0) ? g : T(0); });
    case BinaryOp::kPow:
      return apply(kTranscendental, [](T x, T y) { return std::pow(x, y); });
  }
}

// in: strided view of `shape`, elements of elem_size bytes  out: contiguous.
void StridedCopy(const Context& ctx, size_t elem_size, int ndim, const int64_t* shape,
                 const void* in, const int64_t* in_strides, void* out) {
  switch (elem_size) {
    case 1:
      return StridedCopyAs<uint8_t>(ctx.threads, ndim, shape, in, in_strides, out);
    case 2:
      return StridedCopyAs<uint16_t>(ctx.threads, ndim, shape, in, in_strides, out);
    case 4:
      return StridedCopyAs<uint32_t>(ctx.threads, ndim, shape, in, in_strides, out);
    case 8:
      return StridedCopyAs<uint64_t>(ctx.threads, ndim, shape, in, in_strides, out);
    default:
      std::abort();  // Contract violation: no such element type in the engine.
  }
}

// in: strided view of `shape`  out: contiguous.
template <typename From, typename To>
void Cast(const Context& ctx, int ndim, const int64_t* shape, const From* in,
          const int64_t* in_strides, To* out) {
  UnaryApply<From, To>(ctx.threads, ndim, shape, in, in_strides, out, kCheap,
                       [](From x) { return static_cast<To>(static_cast<double>(x)); });
}

// src: (outer, length, inner)  dst: (outer, size, inner), both dense.
void CopyIntoSlice(const Context& ctx, size_t elem_size, int64_t outer, int64_t size, int64_t inner,
                   int64_t start, int64_t length, const void* src, void* dst) {
  (void)ctx;  // memcpy-bound; one thread saturates memory bandwidth for these sizes.
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  const size_t row = static_cast<size_t>(length * inner) * elem_size;
  if (row == 0) return;
  for (int64_t o = 0; o < outer; ++o) {
    std::memcpy(d + ((o * size + start) * inner) * elem_size, s + (o * length * inner) * elem_size,
                row);
  }
}

// out: (n)
template <typename T>
void Fill(const Context& ctx, T* out, int64_t n, T value) {
#pragma omp parallel for simd schedule(static) \
    num_threads(ctx.threads) if (!omp_in_parallel() && n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) out[i] = value;
}

// x, y: (n)
template <typename T>
void Axpy(const Context& ctx, int64_t n, T alpha, const T* x, T* y) {
#pragma omp parallel for simd schedule(static) \
    num_threads(ctx.threads) if (!omp_in_parallel() && n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

#define MT_INSTANTIATE(T)                                                                          \
  template void Unary<T>(const Context&, UnaryOp, int, const int64_t*, const T*, const int64_t*,   \
                         T*);                                                                      \
  template void Binary<T>(const Context&, BinaryOp, int, const int64_t*, const T*, const int64_t*, \
                          const T*, const int64_t*, T*);                                           \
  template void Fill<T>(const Context&, T*, int64_t, T);                                           \
  template void Axpy<T>(const Context&, int64_t, T, const T*, T*);
MT_INSTANTIATE(float)
MT_INSTANTIATE(double)
#undef MT_INSTANTIATE
// Index tensors (int64) get filled too, e.g. for zero-initialised argmax buffers.
template void Fill<int64_t>(const Context&, int64_t*, int64_t, int64_t);

#define MT_INSTANTIATE_CAST(From, To)                                                            \
  template void Cast<From, To>(const Context&, int, const int64_t*, const From*, const int64_t*, \
                               To*);
#define MT_INSTANTIATE_CASTS_FROM(From) \
  MT_INSTANTIATE_CAST(From, float)      \
  MT_INSTANTIATE_CAST(From, double)     \
  MT_INSTANTIATE_CAST(From, int64_t)
MT_INSTANTIATE_CASTS_FROM(float)
MT_INSTANTIATE_CASTS_FROM(double)
MT_INSTANTIATE_CASTS_FROM(int64_t)
#undef MT_INSTANTIATE_CASTS_FROM
#undef MT_INSTANTIATE_CAST

}  // namespace mt::kernels::cpu
