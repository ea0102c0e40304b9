// Reference kernels: the definition of each operation written as plainly as possible, in
// double precision, with no blocking, threading or vectorisation, so a fast kernel on any
// device can be checked against them. Inputs of any element type T are read as double.
// Layouts match kernels/cpu/*.h: (outer, n, inner) for reductions and softmax, NCHW for conv.
#ifndef MT_KERNELS_REFERENCE_REFERENCE_H_
#define MT_KERNELS_REFERENCE_REFERENCE_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "kernels/op_params.h"

namespace mt::kernels::reference {

// ---------------------------------------------------------------- elementwise
double Unary(UnaryOp op, double x);
double Binary(BinaryOp op, double a, double b);

// Row-major walk of `shape`: calls f(flat output index, offset of each strided operand).
template <typename F>
void ForEachStrided(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides_a,
                    const std::vector<int64_t>& strides_b, F f) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  const int nd = static_cast<int>(shape.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = i, oa = 0, ob = 0;
    for (int d = nd - 1; d >= 0; --d) {
      const int64_t idx = r % shape[d];
      r /= shape[d];
      if (!strides_a.empty()) oa += idx * strides_a[d];
      if (!strides_b.empty()) ob += idx * strides_b[d];
    }
    f(i, oa, ob);
  }
}

// out[i] = in at the strided position of multi-index i.  in: strided  out: prod(shape)
template <typename T>
std::vector<double> StridedGather(const std::vector<int64_t>& shape, const T* in,
                                  const std::vector<int64_t>& strides) {
  std::vector<double> out;
  ForEachStrided(shape, strides, {},
                 [&](int64_t, int64_t oa, int64_t) { out.push_back(static_cast<double>(in[oa])); });
  return out;
}

// ---------------------------------------------------------------- slices
// dst (outer, size, inner) with rows [start, start+length) of the middle dim replaced by
// src (outer, length, inner).
template <typename T>
std::vector<double> CopyIntoSlice(const std::vector<T>& dst, const std::vector<T>& src,
                                  int64_t outer, int64_t size, int64_t inner, int64_t start,
                                  int64_t length) {
  std::vector<double> out(dst.begin(), dst.end());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < length; ++j) {
      for (int64_t i = 0; i < inner; ++i) {
        out[(o * size + start + j) * inner + i] = src[(o * length + j) * inner + i];
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- reductions
// out[o, i] = sum_j in[o, j, i].
template <typename T>
std::vector<double> SumDim(const std::vector<T>& in, int64_t outer, int64_t n, int64_t inner) {
  std::vector<double> out(outer * inner, 0.0);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t i = 0; i < inner; ++i) out[o * inner + i] += in[(o * n + j) * inner + i];
    }
  }
  return out;
}

// Max over j and the first j reaching it (for NaN-free data).
template <typename T>
void MaxDim(const std::vector<T>& in, int64_t outer, int64_t n, int64_t inner,
            std::vector<double>* out, std::vector<int64_t>* argmax) {
  out->assign(outer * inner, 0);
  argmax->assign(outer * inner, 0);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      double best = in[o * n * inner + i];
      int64_t best_j = 0;
      for (int64_t j = 1; j < n; ++j) {
        const double v = in[(o * n + j) * inner + i];
        if (v > best) {
          best = v;
          best_j = j;
        }
      }
      (*out)[o * inner + i] = best;
      (*argmax)[o * inner + i] = best_j;
    }
  }
}

// grad_in[o, j, i] = grad_out[o, i] where j == argmax[o, i], else 0.
template <typename T>
std::vector<double> MaxDimBackward(const std::vector<T>& grad_out,
                                   const std::vector<int64_t>& argmax, int64_t outer, int64_t n,
                                   int64_t inner) {
  std::vector<double> grad_in(outer * n * inner, 0.0);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      grad_in[(o * n + argmax[o * inner + i]) * inner + i] = grad_out[o * inner + i];
    }
  }
  return grad_in;
}

// ---------------------------------------------------------------- matmul
// C = alpha * op(A) op(B) + beta * C_before (C_before not read when beta == 0), with the
// per-element sum of |alpha * a * b| + |beta * c| for error bounds.
struct GemmResult {
  std::vector<double> c, magnitude;  // (m, n), dense
};
template <typename T>
GemmResult Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                const T* a, int64_t lda, const T* b, int64_t ldb, double beta, const T* c_before,
                int64_t ldc) {
  GemmResult r;
  r.c.assign(m * n, 0);
  r.magnitude.assign(m * n, 0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0, mag = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double x = trans_a ? a[p * lda + i] : a[i * lda + p];
        const double y = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        dot += x * y;
        mag += std::abs(x * y);
      }
      const double old = beta == 0 ? 0 : static_cast<double>(c_before[i * ldc + j]);
      r.c[i * n + j] = alpha * dot + beta * old;
      r.magnitude[i * n + j] = std::abs(alpha) * mag + std::abs(beta * old);
    }
  }
  return r;
}

// ---------------------------------------------------------------- convolution
// The three convolution sums written straight from the definition
//   out[b,o,y,x] = bias[o] + sum_{c,i,j} in[b,c,y*sh+i-pt, x*sw+j-pl] * w[o,c,i,j]
// in double, along with sum |term| per output element for the tolerance. bias may be empty.
struct Conv2dResult {
  std::vector<double> out, out_mag, grad_input, grad_input_mag, grad_weight, grad_weight_mag,
      grad_bias;
};
template <typename T>
Conv2dResult Conv2d(const Conv2dShape& s, const std::vector<T>& in, const std::vector<T>& w,
                    const std::vector<T>& bias, const std::vector<T>& g) {
  Conv2dResult r;
  const int64_t oh = s.out_h(), ow = s.out_w();
  r.out.assign(s.batch * s.out_channels * oh * ow, 0);
  r.out_mag = r.out;
  r.grad_input.assign(in.size(), 0);
  r.grad_input_mag = r.grad_input;
  r.grad_weight.assign(w.size(), 0);
  r.grad_weight_mag = r.grad_weight;
  r.grad_bias.assign(s.out_channels, 0);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t o = 0; o < s.out_channels; ++o) {
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t x = 0; x < ow; ++x) {
          const int64_t oi = ((b * s.out_channels + o) * oh + y) * ow + x;
          r.out[oi] = bias.empty() ? 0 : bias[o];
          r.out_mag[oi] = std::abs(r.out[oi]);
          r.grad_bias[o] += g[oi];
          for (int64_t c = 0; c < s.in_channels; ++c) {
            for (int64_t i = 0; i < s.kernel_h; ++i) {
              for (int64_t j = 0; j < s.kernel_w; ++j) {
                const int64_t iy = y * s.stride_h + i - s.pad_top;
                const int64_t ix = x * s.stride_w + j - s.pad_left;
                if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                const int64_t ii = ((b * s.in_channels + c) * s.in_h + iy) * s.in_w + ix;
                const int64_t wi = ((o * s.in_channels + c) * s.kernel_h + i) * s.kernel_w + j;
                r.out[oi] += double(in[ii]) * w[wi];
                r.out_mag[oi] += std::abs(double(in[ii]) * w[wi]);
                r.grad_input[ii] += double(g[oi]) * w[wi];
                r.grad_input_mag[ii] += std::abs(double(g[oi]) * w[wi]);
                r.grad_weight[wi] += double(g[oi]) * in[ii];
                r.grad_weight_mag[wi] += std::abs(double(g[oi]) * in[ii]);
              }
            }
          }
        }
      }
    }
  }
  return r;
}

// ---------------------------------------------------------------- softmax
// Log-softmax along n: log-sum-exp with the max subtracted.
template <typename T>
std::vector<double> LogSoftmax(const std::vector<T>& x, int64_t outer, int64_t n, int64_t inner) {
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t j) { return (o * n + j) * inner + i; };
      double m = x[at(0)];
      for (int64_t j = 1; j < n; ++j) m = std::max<double>(m, x[at(j)]);
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += std::exp(x[at(j)] - m);
      for (int64_t j = 0; j < n; ++j) y[at(j)] = x[at(j)] - m - std::log(s);
    }
  }
  return y;
}

template <typename T>
std::vector<double> Softmax(const std::vector<T>& x, int64_t outer, int64_t n, int64_t inner) {
  std::vector<double> y = LogSoftmax(x, outer, n, inner);
  for (double& v : y) v = std::exp(v);
  return y;
}

// The Jacobian-vector products written out: dy_j/dx_k = y_j (delta_jk - y_k) for softmax
// output y, and d(log y_j)/dx_k = delta_jk - y_k for log-softmax output log y.
template <typename T>
std::vector<double> SoftmaxBackward(const std::vector<T>& y, const std::vector<T>& g, int64_t outer,
                                    int64_t n, int64_t inner) {
  std::vector<double> ref(y.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t j) { return (o * n + j) * inner + i; };
      for (int64_t k = 0; k < n; ++k) {
        double acc = 0;
        for (int64_t j = 0; j < n; ++j) {
          const double delta = j == k ? 1 : 0;
          acc += g[at(j)] * double(y[at(j)]) * (delta - y[at(k)]);
        }
        ref[at(k)] = acc;
      }
    }
  }
  return ref;
}
template <typename T>
std::vector<double> LogSoftmaxBackward(const std::vector<T>& log_y, const std::vector<T>& g,
                                       int64_t outer, int64_t n, int64_t inner) {
  std::vector<double> ref(log_y.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t j) { return (o * n + j) * inner + i; };
      for (int64_t k = 0; k < n; ++k) {
        double acc = 0;
        for (int64_t j = 0; j < n; ++j) {
          const double delta = j == k ? 1 : 0;
          acc += g[at(j)] * (delta - std::exp(double(log_y[at(k)])));
        }
        ref[at(k)] = acc;
      }
    }
  }
  return ref;
}

// ---------------------------------------------------------------- embeddings and indices
// out[i, :] = weight[ids[i], :].
template <typename T>
std::vector<double> EmbeddingForward(const std::vector<T>& weight, int64_t dim,
                                     const std::vector<int64_t>& ids) {
  std::vector<double> out;
  for (int64_t id : ids) {
    for (int64_t c = 0; c < dim; ++c) out.push_back(weight[id * dim + c]);
  }
  return out;
}

// grad_weight (num, dim) = initial + scatter-add of grad_out rows at ids, in id order and in T
// (so a race-free kernel that adds in id order matches exactly).
template <typename T>
std::vector<T> EmbeddingBackward(const std::vector<T>& grad_out, const std::vector<int64_t>& ids,
                                 int64_t dim, std::vector<T> grad_weight) {
  for (size_t i = 0; i < ids.size(); ++i) {
    for (int64_t c = 0; c < dim; ++c) grad_weight[ids[i] * dim + c] += grad_out[i * dim + c];
  }
  return grad_weight;
}

// The first id outside [0, limit): {position, value}, or {-1, 0}.
std::pair<int64_t, int64_t> FindIndexOutside(const std::vector<int64_t>& ids, int64_t limit);

// out[i, c] = c == ids[i].
std::vector<double> OneHot(const std::vector<int64_t>& ids, int64_t num_classes);

// ---------------------------------------------------------------- losses and randomness
// -(1/n) sum_i log_probs[i, target[i]], and its gradient for upstream gradient g.
template <typename T>
double NllLoss(const std::vector<T>& log_probs, const std::vector<int64_t>& target, int64_t c) {
  double s = 0;
  for (size_t i = 0; i < target.size(); ++i) s += log_probs[i * c + target[i]];
  return -s / static_cast<double>(target.size());
}
std::vector<double> NllLossBackward(double g, const std::vector<int64_t>& target, int64_t c);

// Philox4x32-10 of `counter` under key (key0, key1).
std::array<uint32_t, 4> Philox4x32x10(std::array<uint32_t, 4> counter, uint32_t key0,
                                      uint32_t key1);

// Inverted-dropout mask from a copy of the stream: key = the stream's next draw; element i
// keeps (value scale) when the top 53 bits of Philox4x32-10's words 0 and 1 for counter
// (i, 0, 0, 0) under the key, as a fraction of 2^53, are below keep.
std::vector<double> DropoutMask(std::mt19937_64 engine, int64_t n, double keep, double scale);

// ---------------------------------------------------------------- optimisers
// One torch.optim.SGD step (dampening 0, no Nesterov) in double, in place.
void SgdStep(std::vector<double>& param, const std::vector<double>& grad,
             std::vector<double>& momentum_buf, double lr, double momentum, double weight_decay,
             bool first_step);
// One torch.optim.Adam step (L2 weight decay, no AMSGrad) in double, in place; step from 1.
void AdamStep(std::vector<double>& param, const std::vector<double>& grad, std::vector<double>& m,
              std::vector<double>& v, double lr, double beta1, double beta2, double eps,
              double weight_decay, int64_t step);

}  // namespace mt::kernels::reference

#endif  // MT_KERNELS_REFERENCE_REFERENCE_H_
