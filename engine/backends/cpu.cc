// The CPU's entries in the kernel table: each adapts a dtype-erased dispatch signature
// (engine/dispatch.h) to the typed kernels in kernels/cpu/.
#include <cstring>

#include "engine/backends/dtype_dispatch.h"
#include "engine/dispatch.h"
#include "engine/ops_internal.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_pool.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/index.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/softmax.h"

namespace mt::dispatch {
namespace {

namespace k = kernels::cpu;
using backends::DispatchAll;
using internal::DispatchFloat;

void Unary(const Context& ctx, DType dtype, kernels::UnaryOp op, int ndim, const int64_t* shape,
           const void* in, const int64_t* in_strides, void* out) {
  DispatchFloat(dtype, "Unary", [&](auto t) {
    using T = decltype(t);
    k::Unary<T>(ctx, op, ndim, shape, static_cast<const T*>(in), in_strides, static_cast<T*>(out));
  });
}

void Binary(const Context& ctx, DType dtype, kernels::BinaryOp op, int ndim, const int64_t* shape,
            const void* a, const int64_t* a_strides, const void* b, const int64_t* b_strides,
            void* out) {
  DispatchFloat(dtype, "Binary", [&](auto t) {
    using T = decltype(t);
    k::Binary<T>(ctx, op, ndim, shape, static_cast<const T*>(a), a_strides,
                 static_cast<const T*>(b), b_strides, static_cast<T*>(out));
  });
}

void Fill(const Context& ctx, DType dtype, void* out, int64_t n, double value) {
  DispatchAll(dtype, [&](auto t) {
    using T = decltype(t);
    k::Fill<T>(ctx, static_cast<T*>(out), n, static_cast<T>(value));
  });
}

void Cast(const Context& ctx, DType from, DType to, int ndim, const int64_t* shape, const void* in,
          const int64_t* in_strides, void* out) {
  DispatchAll(from, [&](auto f) {
    using From = decltype(f);
    DispatchAll(to, [&](auto t) {
      using To = decltype(t);
      k::Cast<From, To>(ctx, ndim, shape, static_cast<const From*>(in), in_strides,
                        static_cast<To*>(out));
    });
  });
}

void DeviceCopy(const Context&, void* dst, Device, const void* src, Device, size_t nbytes) {
  if (nbytes > 0) std::memcpy(dst, src, nbytes);
}

void SumDim(const Context& ctx, DType dtype, const void* in, int64_t outer, int64_t n,
            int64_t inner, void* out) {
  DispatchFloat(dtype, "SumDim", [&](auto t) {
    using T = decltype(t);
    k::SumDim<T>(ctx, static_cast<const T*>(in), outer, n, inner, static_cast<T*>(out));
  });
}

void MaxDim(const Context& ctx, DType dtype, const void* in, int64_t outer, int64_t n,
            int64_t inner, void* out, int64_t* argmax) {
  DispatchFloat(dtype, "MaxDim", [&](auto t) {
    using T = decltype(t);
    k::MaxDim<T>(ctx, static_cast<const T*>(in), outer, n, inner, static_cast<T*>(out), argmax);
  });
}

void MaxDimBackward(const Context& ctx, DType dtype, const void* grad_out, const int64_t* argmax,
                    int64_t outer, int64_t n, int64_t inner, void* grad_in) {
  DispatchFloat(dtype, "MaxDimBackward", [&](auto t) {
    using T = decltype(t);
    k::MaxDimBackward<T>(ctx, static_cast<const T*>(grad_out), argmax, outer, n, inner,
                         static_cast<T*>(grad_in));
  });
}

IndexError IndexCheck(const Context& ctx, const int64_t* ids, int64_t n, int64_t limit) {
  const k::IndexError e = k::FindIndexOutside(ctx, ids, n, limit);
  return IndexError{e.position, e.value};
}

void OneHot(const Context& ctx, DType dtype, const int64_t* ids, int64_t n, int64_t num_classes,
            void* out) {
  DispatchAll(dtype, [&](auto t) {
    using T = decltype(t);
    k::OneHot<T>(ctx, ids, n, num_classes, static_cast<T*>(out));
  });
}

void BatchedGemm(const Context& ctx, DType dtype, int64_t batch, bool trans_a, bool trans_b,
                 int64_t m, int64_t n, int64_t kk, const void* a, int64_t stride_a, int64_t lda,
                 const void* b, int64_t stride_b, int64_t ldb, double beta, void* c,
                 int64_t stride_c, int64_t ldc) {
  DispatchFloat(dtype, "BatchedGemm", [&](auto t) {
    using T = decltype(t);
    k::BatchedGemm<T>(ctx, batch, trans_a, trans_b, m, n, kk, static_cast<const T*>(a), stride_a,
                      lda, static_cast<const T*>(b), stride_b, ldb, static_cast<T>(beta),
                      static_cast<T*>(c), stride_c, ldc);
  });
}

void Conv2dForward(const Context& ctx, DType dtype, const kernels::Conv2dShape& s,
                   const void* input, const void* weight, const void* bias, void* out) {
  DispatchFloat(dtype, "Conv2d", [&](auto t) {
    using T = decltype(t);
    k::Conv2dForward<T>(ctx, s, static_cast<const T*>(input), static_cast<const T*>(weight),
                        static_cast<const T*>(bias), static_cast<T*>(out));
  });
}

void Conv2dBackwardInput(const Context& ctx, DType dtype, const kernels::Conv2dShape& s,
                         const void* grad_out, const void* weight, void* grad_input) {
  DispatchFloat(dtype, "Conv2dBackward", [&](auto t) {
    using T = decltype(t);
    k::Conv2dBackwardInput<T>(ctx, s, static_cast<const T*>(grad_out),
                              static_cast<const T*>(weight), static_cast<T*>(grad_input));
  });
}

void Conv2dBackwardWeight(const Context& ctx, DType dtype, const kernels::Conv2dShape& s,
                          const void* grad_out, const void* input, void* grad_weight,
                          void* grad_bias) {
  DispatchFloat(dtype, "Conv2dBackward", [&](auto t) {
    using T = decltype(t);
    k::Conv2dBackwardWeight<T>(ctx, s, static_cast<const T*>(grad_out),
                               static_cast<const T*>(input), static_cast<T*>(grad_weight),
                               static_cast<T*>(grad_bias));
  });
}

int64_t Conv2dKeptColumnsSize(DType dtype, const kernels::Conv2dShape& s) {
  int64_t size = 0;
  DispatchFloat(dtype, "Conv2d", [&](auto t) {
    using T = decltype(t);
    size = k::Conv2dKeptColumnsSize<T>(s);
  });
  return size;
}

void Conv2dForwardKeepColumns(const Context& ctx, DType dtype, const kernels::Conv2dShape& s,
                              const void* input, const void* weight, const void* bias, void* out,
                              void* columns) {
  DispatchFloat(dtype, "Conv2d", [&](auto t) {
    using T = decltype(t);
    k::Conv2dForward<T>(ctx, s, static_cast<const T*>(input), static_cast<const T*>(weight),
                        static_cast<const T*>(bias), static_cast<T*>(out),
                        static_cast<T*>(columns));
  });
}

void Conv2dBackwardWeightFromColumns(const Context& ctx, DType dtype,
                                     const kernels::Conv2dShape& s, const void* grad_out,
                                     const void* input, const void* columns, void* grad_weight,
                                     void* grad_bias) {
  DispatchFloat(dtype, "Conv2dBackward", [&](auto t) {
    using T = decltype(t);
    k::Conv2dBackwardWeight<T>(ctx, s, static_cast<const T*>(grad_out),
                               static_cast<const T*>(input), static_cast<T*>(grad_weight),
                               static_cast<T*>(grad_bias), static_cast<const T*>(columns));
  });
}

void MaxPool2dForward(const Context& ctx, DType dtype, const kernels::Pool2dShape& s,
                      const void* in, void* out, int64_t* argmax) {
  DispatchFloat(dtype, "MaxPool2d", [&](auto t) {
    using T = decltype(t);
    k::MaxPool2dForward<T>(ctx, s, static_cast<const T*>(in), static_cast<T*>(out), argmax);
  });
}

void MaxPool2dBackward(const Context& ctx, DType dtype, const kernels::Pool2dShape& s,
                       const void* grad_out, const int64_t* argmax, void* grad_in) {
  DispatchFloat(dtype, "MaxPool2dBackward", [&](auto t) {
    using T = decltype(t);
    k::MaxPool2dBackward<T>(ctx, s, static_cast<const T*>(grad_out), argmax,
                            static_cast<T*>(grad_in));
  });
}

void AvgPool2dForward(const Context& ctx, DType dtype, const kernels::Pool2dShape& s,
                      const void* in, void* out) {
  DispatchFloat(dtype, "AvgPool2d", [&](auto t) {
    using T = decltype(t);
    k::AvgPool2dForward<T>(ctx, s, static_cast<const T*>(in), static_cast<T*>(out));
  });
}

void AvgPool2dBackward(const Context& ctx, DType dtype, const kernels::Pool2dShape& s,
                       const void* grad_out, void* grad_in) {
  DispatchFloat(dtype, "AvgPool2dBackward", [&](auto t) {
    using T = decltype(t);
    k::AvgPool2dBackward<T>(ctx, s, static_cast<const T*>(grad_out), static_cast<T*>(grad_in));
  });
}

void SoftmaxForward(const Context& ctx, DType dtype, bool log, const void* in, int64_t outer,
                    int64_t n, int64_t inner, void* out) {
  DispatchFloat(dtype, log ? "LogSoftmax" : "Softmax", [&](auto t) {
    using T = decltype(t);
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    if (log) {
      k::LogSoftmaxForward<T>(ctx, x, outer, n, inner, y);
    } else {
      k::SoftmaxForward<T>(ctx, x, outer, n, inner, y);
    }
  });
}

void SoftmaxBackward(const Context& ctx, DType dtype, bool log, const void* out,
                     const void* grad_out, int64_t outer, int64_t n, int64_t inner, void* grad_in) {
  DispatchFloat(dtype, log ? "LogSoftmax" : "Softmax", [&](auto t) {
    using T = decltype(t);
    const T* y = static_cast<const T*>(out);
    const T* g = static_cast<const T*>(grad_out);
    T* gi = static_cast<T*>(grad_in);
    if (log) {
      k::LogSoftmaxBackward<T>(ctx, y, g, outer, n, inner, gi);
    } else {
      k::SoftmaxBackward<T>(ctx, y, g, outer, n, inner, gi);
    }
  });
}

void DropoutMask(const Context& ctx, DType dtype, std::mt19937_64& engine, int64_t n, double keep,
                 double scale, void* mask) {
  DispatchFloat(dtype, "Dropout", [&](auto t) {
    using T = decltype(t);
    k::DropoutMask<T>(ctx, engine, n, keep, scale, static_cast<T*>(mask));
  });
}

void NllLossForward(const Context& ctx, DType dtype, const void* log_probs, const int64_t* target,
                    int64_t n, int64_t c, void* out) {
  DispatchFloat(dtype, "NllLoss", [&](auto t) {
    using T = decltype(t);
    k::NllLossForward<T>(ctx, static_cast<const T*>(log_probs), target, n, c, static_cast<T*>(out));
  });
}

void NllLossBackward(const Context& ctx, DType dtype, const void* grad_out, const int64_t* target,
                     int64_t n, int64_t c, void* grad_in) {
  DispatchFloat(dtype, "NllLossBackward", [&](auto t) {
    using T = decltype(t);
    k::NllLossBackward<T>(ctx, static_cast<const T*>(grad_out), target, n, c,
                          static_cast<T*>(grad_in));
  });
}

void EmbeddingForward(const Context& ctx, DType dtype, const void* weight, int64_t dim,
                      const int64_t* ids, int64_t n_ids, void* out) {
  DispatchFloat(dtype, "Embedding", [&](auto t) {
    using T = decltype(t);
    k::EmbeddingForward<T>(ctx, static_cast<const T*>(weight), dim, ids, n_ids,
                           static_cast<T*>(out));
  });
}

void EmbeddingBackward(const Context& ctx, DType dtype, const void* grad_out, const int64_t* ids,
                       int64_t n_ids, int64_t dim, void* grad_weight) {
  DispatchFloat(dtype, "EmbeddingBackward", [&](auto t) {
    using T = decltype(t);
    k::EmbeddingBackward<T>(ctx, static_cast<const T*>(grad_out), ids, n_ids, dim,
                            static_cast<T*>(grad_weight));
  });
}

void SgdStep(const Context& ctx, DType dtype, int64_t n, void* param, const void* grad,
             void* momentum_buf, double lr, double momentum, double weight_decay, bool first_step) {
  DispatchFloat(dtype, "SGD", [&](auto t) {
    using T = decltype(t);
    k::SgdStep<T>(ctx, n, static_cast<T*>(param), static_cast<const T*>(grad),
                  static_cast<T*>(momentum_buf), T(lr), T(momentum), T(weight_decay), first_step);
  });
}

void AdamStep(const Context& ctx, DType dtype, int64_t n, void* param, const void* grad, void* m,
              void* v, double lr, double beta1, double beta2, double eps, double weight_decay,
              int64_t step) {
  DispatchFloat(dtype, "Adam", [&](auto t) {
    using T = decltype(t);
    k::AdamStep<T>(ctx, n, static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(m),
                   static_cast<T*>(v), T(lr), T(beta1), T(beta2), T(eps), T(weight_decay), step);
  });
}

bool Conv2dMaxPoolReluApplies(DType dtype, const kernels::Conv2dShape& s, int64_t kh,
                              int64_t kw) {
  if (dtype == DType::kFloat32) return k::Conv2dMaxPoolReluApplies<float>(s, kh, kw);
  if (dtype == DType::kFloat64) return k::Conv2dMaxPoolReluApplies<double>(s, kh, kw);
  return false;
}

void Conv2dMaxPoolReluForward(const Context& ctx, DType dtype, const kernels::Conv2dShape& s,
                              int64_t kh, int64_t kw, const void* input, const void* weight,
                              const void* bias, void* out, int64_t* argmax) {
  DispatchFloat(dtype, "Conv2dMaxPoolRelu", [&](auto t) {
    using T = decltype(t);
    k::Conv2dMaxPoolReluForward<T>(ctx, s, kh, kw, static_cast<const T*>(input),
                                   static_cast<const T*>(weight), static_cast<const T*>(bias),
                                   static_cast<T*>(out), argmax);
  });
}

}  // namespace

void RegisterCpuKernels() {
  constexpr Device::Type kCpu = Device::Type::kCPU;
  auto set = [](auto op_tag, auto fn) {
    using Op = decltype(op_tag);
    Slots<Op>()[static_cast<int>(kCpu)].store(fn, std::memory_order_release);
  };
  set(UnaryKernel{}, &Unary);
  set(BinaryKernel{}, &Binary);
  set(FillKernel{}, &Fill);
  set(StridedCopyKernel{}, &k::StridedCopy);
  set(CastKernel{}, &Cast);
  set(CopyIntoSliceKernel{}, &k::CopyIntoSlice);
  set(DeviceCopyKernel{}, &DeviceCopy);
  set(SumDimKernel{}, &SumDim);
  set(MaxDimKernel{}, &MaxDim);
  set(MaxDimBackwardKernel{}, &MaxDimBackward);
  set(IndexCheckKernel{}, &IndexCheck);
  set(OneHotKernel{}, &OneHot);
  set(BatchedGemmKernel{}, &BatchedGemm);
  set(Conv2dForwardKernel{}, &Conv2dForward);
  set(Conv2dBackwardInputKernel{}, &Conv2dBackwardInput);
  set(Conv2dBackwardWeightKernel{}, &Conv2dBackwardWeight);
  set(Conv2dKeptColumnsSizeKernel{}, &Conv2dKeptColumnsSize);
  set(Conv2dForwardKeepColumnsKernel{}, &Conv2dForwardKeepColumns);
  set(Conv2dBackwardWeightFromColumnsKernel{}, &Conv2dBackwardWeightFromColumns);
  set(Conv2dMaxPoolReluAppliesKernel{}, &Conv2dMaxPoolReluApplies);
  set(Conv2dMaxPoolReluForwardKernel{}, &Conv2dMaxPoolReluForward);
  set(MaxPool2dForwardKernel{}, &MaxPool2dForward);
  set(MaxPool2dBackwardKernel{}, &MaxPool2dBackward);
  set(AvgPool2dForwardKernel{}, &AvgPool2dForward);
  set(AvgPool2dBackwardKernel{}, &AvgPool2dBackward);
  set(SoftmaxForwardKernel{}, &SoftmaxForward);
  set(SoftmaxBackwardKernel{}, &SoftmaxBackward);
  set(DropoutMaskKernel{}, &DropoutMask);
  set(NllLossForwardKernel{}, &NllLossForward);
  set(NllLossBackwardKernel{}, &NllLossBackward);
  set(EmbeddingForwardKernel{}, &EmbeddingForward);
  set(EmbeddingBackwardKernel{}, &EmbeddingBackward);
  set(SgdStepKernel{}, &SgdStep);
  set(AdamStepKernel{}, &AdamStep);
}

}  // namespace mt::dispatch
