// Linear algebra: batched matrix products through the BatchedGemm kernel.
#include "engine/ops_internal.h"

namespace mt {

using internal::Dense;

namespace {
// How a (batch..., rows, cols) operand is handed to BatchedGemm without copying when its layout
// allows: a single batch stride (0 = broadcast), a leading dimension, and a transpose flag.
struct GemmOperand {
  Tensor holder;  // keeps the data alive (a dense copy when the layout needed one)
  int64_t batch_stride = 0, ld = 0;
  bool trans = false;
};

GemmOperand PrepareOperand(const Tensor& t, const Shape& batch, int64_t rows, int64_t cols) {
  Shape full = batch;
  full.push_back(rows);
  full.push_back(cols);
  Tensor e = Expand(t.Detach(), full);
  const int64_t nb = static_cast<int64_t>(batch.size());
  const int64_t sr = e.strides()[nb], sc = e.strides()[nb + 1];
  GemmOperand op;
  op.holder = e;
  // One stride must describe the whole batch: all broadcast (0), or nested like a dense array.
  bool batch_ok = true;
  int64_t bstride = 0, expected = -1;
  for (int64_t i = nb - 1; i >= 0; --i) {
    if (batch[i] == 1) continue;
    if (expected < 0) {
      bstride = e.strides()[i];
      expected = bstride * batch[i];
    } else {
      batch_ok = batch_ok && e.strides()[i] == expected;
      expected *= batch[i];
    }
  }
  bool all_zero = true;
  for (int64_t i = 0; i < nb; ++i) all_zero = all_zero && (batch[i] == 1 || e.strides()[i] == 0);
  if (all_zero) bstride = 0;
  if (batch_ok || all_zero) {
    if ((sc == 1 || cols == 1) && (rows == 1 || sr >= cols)) {
      op.ld = rows == 1 ? cols : sr;
      op.batch_stride = bstride;
      return op;
    }
    if ((sr == 1 || rows == 1) && (cols == 1 || sc >= rows)) {
      op.trans = true;
      op.ld = cols == 1 ? rows : sc;
      op.batch_stride = bstride;
      return op;
    }
  }
  op.holder = Dense(e);
  op.ld = cols;
  op.batch_stride = all_zero ? 0 : rows * cols;
  return op;
}
}  // namespace

Tensor Matmul(const Tensor& a, const Tensor& b) {
  CheckSameKind(a, b, "Matmul");
  CheckFloating(a, "Matmul");
  MT_CHECK(a.dim() >= 2 && b.dim() >= 2, "Matmul needs operands with at least 2 dims, got ",
           ShapeToString(a.shape()), " and ", ShapeToString(b.shape()));
  const int64_t m = a.size(-2), k = a.size(-1), k2 = b.size(-2), n = b.size(-1);
  MT_CHECK(k == k2, "Matmul: inner sizes differ: ", ShapeToString(a.shape()), " @ ",
           ShapeToString(b.shape()), " (", k, " vs ", k2,
           "); a's last dim must equal b's "
           "second-to-last");
  Shape batch = BroadcastShapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                Shape(b.shape().begin(), b.shape().end() - 2));
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  // BatchedGemm with beta 0 overwrites every element; only an empty inner dim leaves zeros.
  Tensor out = k > 0 ? Tensor::Empty(out_shape, a.dtype(), a.device())
                     : Tensor::Zeros(out_shape, a.dtype(), a.device());
  const int64_t nbatch = NumElements(batch);
  if (out.numel() > 0 && k > 0) {
    GemmOperand oa = PrepareOperand(a, batch, m, k), ob = PrepareOperand(b, batch, k, n);
    dispatch::Run<dispatch::BatchedGemmKernel>(a.device(), a.dtype(), nbatch, oa.trans, ob.trans, m,
                                               n, k, oa.holder.raw_data(), oa.batch_stride, oa.ld,
                                               ob.holder.raw_data(), ob.batch_stride, ob.ld, 0.0,
                                               out.raw_data(), m * n, n);
  }
  bool need_a = autograd::NeedsGrad(a), need_b = autograd::NeedsGrad(b);
  Tensor sa = need_b ? a.Detach() : Tensor(), sb = need_a ? b.Detach() : Tensor();
  // b a transposed dense matrix (a linear layer's Transpose(weight)): its gradient a^T g is
  // computed as (g^T a)^T, so that after Transpose's backward it arrives in the weight's own
  // layout and is not copied element by element into the weight's gradient.
  const bool b_transposed = b.dim() == 2 && b.strides()[0] == 1 && b.size(0) > 1 &&
                            b.size(1) > 1 && b.strides()[1] == b.size(0);
  return autograd::Record(
      out, {a, b}, "Matmul",
      [=, shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) {
        Tensor grad_b;
        if (need_b && b_transposed && sa.dim() == 2) {
          grad_b = Transpose(Matmul(Transpose(g, -1, -2), sa), -1, -2);
        } else if (need_b) {
          grad_b = SumTo(Matmul(Transpose(sa, -1, -2), g), shape_b);
        }
        return std::vector<Tensor>{
            need_a ? SumTo(Matmul(g, Transpose(sb, -1, -2)), shape_a) : Tensor(), grad_b};
      });
}

}  // namespace mt
