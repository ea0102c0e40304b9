// The GPU's entries in the kernel table (built only with CUDA): each adapts a dtype-erased
// dispatch signature (engine/dispatch.h) to the typed launchers in kernels/cuda/, and turns
// their failures into the engine's errors: CudaError into mt::Error (mt::OutOfMemory when the
// device ran out of memory), std::invalid_argument (a shape the GPU kernels cannot take) into
// mt::Error. DeviceCopy is registered with the CUDA allocator, not here.
#include <stdexcept>
#include <string>

#include "engine/backends/dtype_dispatch.h"
#include "engine/dispatch.h"
#include "engine/error.h"
#include "engine/ops_internal.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/index.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax.h"

namespace mt::dispatch {
namespace {

namespace k = kernels::cuda;
using backends::DispatchAll;
using internal::DispatchFloat;

// Runs a launcher, translating kernel-layer exceptions at the engine boundary.
template <typename F>
decltype(auto) Guard(const char* op, F&& f) {
  try {
    return f();
  } catch (const k::CudaError& e) {
    const std::string message = std::string(op) + " on the GPU failed: " + e.what();
    if (e.out_of_memory()) throw OutOfMemory(message);
    throw Error(message);
  } catch (const std::invalid_argument& e) {
    throw Error(std::string(op) + " on the GPU: " + e.what());
  }
}

void Unary(const Context& ctx, DType dtype, kernels::UnaryOp op, int ndim, const int64_t* shape,
           const void* in, const int64_t* in_strides, void* out) {
  DispatchFloat(dtype, "Unary", [&](auto t) {
    using T = decltype(t);
    Guard("Unary", [&] {
      k::Unary<T>(ctx, op, ndim, shape, static_cast<const T*>(in), in_strides,
                  static_cast<T*>(out));
    });
  });
}

void Binary(const Context& ctx, DType dtype, kernels::BinaryOp op, int ndim, const int64_t* shape,
            const void* a, const int64_t* a_strides, const void* b, const int64_t* b_strides,
            void* out) {
  DispatchFloat(dtype, "Binary", [&](auto t) {
    using T = decltype(t);
    Guard("Binary", [&] {
      k::Binary<T>(ctx, op, ndim, shape, static_cast<const T*>(a), a_strides,
                   static_cast<const T*>(b), b_strides, static_cast<T*>(out));
    });
  });
}

void Fill(const Context& ctx, DType dtype, void* out, int64_t n, double value) {
  DispatchAll(dtype, [&](auto t) {
    using T = decltype(t);
    Guard("Fill", [&] { k::Fill<T>(ctx, static_cast<T*>(out), n, static_cast<T>(value)); });
  });
}

void StridedCopy(const Context& ctx, size_t elem_size, int ndim, const int64_t* shape,
                 const void* in, const int64_t* in_strides, void* out) {
  Guard("StridedCopy", [&] { k::StridedCopy(ctx, elem_size, ndim, shape, in, in_strides, out); });
}

void Cast(const Context& ctx, DType from, DType to, int ndim, const int64_t* shape, const void* in,
          const int64_t* in_strides, void* out) {
  DispatchAll(from, [&](auto f) {
    using From = decltype(f);
    DispatchAll(to, [&](auto t) {
      using To = decltype(t);
      Guard("Cast", [&] {
        k::Cast<From, To>(ctx, ndim, shape, static_cast<const From*>(in), in_strides,
                          static_cast<To*>(out));
      });
    });
  });
}

void CopyIntoSlice(const Context& ctx, size_t elem_size, int64_t outer, int64_t size, int64_t inner,
                   int64_t start, int64_t length, const void* src, void* dst) {
  Guard("CopyIntoSlice",
        [&] { k::CopyIntoSlice(ctx, elem_size, outer, size, inner, start, length, src, dst); });
}

void SumDim(const Context& ctx, DType dtype, const void* in, int64_t outer, int64_t n,
            int64_t inner, void* out) {
  DispatchFloat(dtype, "SumDim", [&](auto t) {
    using T = decltype(t);
    Guard("SumDim", [&] {
      k::SumDim<T>(ctx, static_cast<const T*>(in), outer, n, inner, static_cast<T*>(out));
    });
  });
}

void MaxDim(const Context& ctx, DType dtype, const void* in, int64_t outer, int64_t n,
            int64_t inner, void* out, int64_t* argmax) {
  DispatchFloat(dtype, "MaxDim", [&](auto t) {
    using T = decltype(t);
    Guard("MaxDim", [&] {
      k::MaxDim<T>(ctx, static_cast<const T*>(in), outer, n, inner, static_cast<T*>(out), argmax);
    });
  });
}

void MaxDimBackward(const Context& ctx, DType dtype, const void* grad_out, const int64_t* argmax,
                    int64_t outer, int64_t n, int64_t inner, void* grad_in) {
  DispatchFloat(dtype, "MaxDimBackward", [&](auto t) {
    using T = decltype(t);
    Guard("MaxDimBackward", [&] {
      k::MaxDimBackward<T>(ctx, static_cast<const T*>(grad_out), argmax, outer, n, inner,
                           static_cast<T*>(grad_in));
    });
  });
}

IndexError IndexCheck(const Context& ctx, const int64_t* ids, int64_t n, int64_t limit) {
  return Guard("IndexCheck", [&] {
    const k::IndexError e = k::FindIndexOutside(ctx, ids, n, limit);
    return IndexError{e.position, e.value};
  });
}

void OneHot(const Context& ctx, DType dtype, const int64_t* ids, int64_t n, int64_t num_classes,
            void* out) {
  DispatchAll(dtype, [&](auto t) {
    using T = decltype(t);
    Guard("OneHot", [&] { k::OneHot<T>(ctx, ids, n, num_classes, static_cast<T*>(out)); });
  });
}

void BatchedGemm(const Context& ctx, DType dtype, int64_t batch, bool trans_a, bool trans_b,
                 int64_t m, int64_t n, int64_t kk, const void* a, int64_t stride_a, int64_t lda,
                 const void* b, int64_t stride_b, int64_t ldb, double beta, void* c,
                 int64_t stride_c, int64_t ldc) {
  DispatchFloat(dtype, "BatchedGemm", [&](auto t) {
    using T = decltype(t);
    Guard("BatchedGemm", [&] {
      k::BatchedGemm<T>(ctx, batch, trans_a, trans_b, m, n, kk, static_cast<const T*>(a), stride_a,
                        lda, static_cast<const T*>(b), stride_b, ldb, static_cast<T>(beta),
                        static_cast<T*>(c), stride_c, ldc);
    });
  });
}

void Conv2dForward(const Context& ctx, DType dtype, const kernels::Conv2dShape& s,
                   const void* input, const void* weight, const void* bias, void* out) {
  DispatchFloat(dtype, "Conv2d", [&](auto t) {
    using T = decltype(t);
    Guard("Conv2d", [&] {
      k::Conv2dForward<T>(ctx, s, static_cast<const T*>(input), static_cast<const T*>(weight),
                          static_cast<const T*>(bias), static_cast<T*>(out));
    });
  });
}

void Conv2dBackwardInput(const Context& ctx, DType dtype, const kernels::Conv2dShape& s,
                         const void* grad_out, const void* weight, void* grad_input) {
  DispatchFloat(dtype, "Conv2dBackward", [&](auto t) {
    using T = decltype(t);
    Guard("Conv2dBackward", [&] {
      k::Conv2dBackwardInput<T>(ctx, s, static_cast<const T*>(grad_out),
                                static_cast<const T*>(weight), static_cast<T*>(grad_input));
    });
  });
}

void Conv2dBackwardWeight(const Context& ctx, DType dtype, const kernels::Conv2dShape& s,
                          const void* grad_out, const void* input, void* grad_weight,
                          void* grad_bias) {
  DispatchFloat(dtype, "Conv2dBackward", [&](auto t) {
    using T = decltype(t);
    Guard("Conv2dBackward", [&] {
      k::Conv2dBackwardWeight<T>(ctx, s, static_cast<const T*>(grad_out),
                                 static_cast<const T*>(input), static_cast<T*>(grad_weight),
                                 static_cast<T*>(grad_bias));
    });
  });
}

void SoftmaxForward(const Context& ctx, DType dtype, bool log, const void* in, int64_t outer,
                    int64_t n, int64_t inner, void* out) {
  const char* name = log ? "LogSoftmax" : "Softmax";
  DispatchFloat(dtype, name, [&](auto t) {
    using T = decltype(t);
    Guard(name, [&] {
      k::SoftmaxForward<T>(ctx, log, static_cast<const T*>(in), outer, n, inner,
                           static_cast<T*>(out));
    });
  });
}

void SoftmaxBackward(const Context& ctx, DType dtype, bool log, const void* out,
                     const void* grad_out, int64_t outer, int64_t n, int64_t inner, void* grad_in) {
  const char* name = log ? "LogSoftmax" : "Softmax";
  DispatchFloat(dtype, name, [&](auto t) {
    using T = decltype(t);
    Guard(name, [&] {
      k::SoftmaxBackward<T>(ctx, log, static_cast<const T*>(out), static_cast<const T*>(grad_out),
                            outer, n, inner, static_cast<T*>(grad_in));
    });
  });
}

void DropoutMask(const Context& ctx, DType dtype, std::mt19937_64& engine, int64_t n, double keep,
                 double scale, void* mask) {
  DispatchFloat(dtype, "Dropout", [&](auto t) {
    using T = decltype(t);
    Guard("Dropout",
          [&] { k::DropoutMask<T>(ctx, engine, n, keep, scale, static_cast<T*>(mask)); });
  });
}

void NllLossForward(const Context& ctx, DType dtype, const void* log_probs, const int64_t* target,
                    int64_t n, int64_t c, void* out) {
  DispatchFloat(dtype, "NllLoss", [&](auto t) {
    using T = decltype(t);
    Guard("NllLoss", [&] {
      k::NllLossForward<T>(ctx, static_cast<const T*>(log_probs), target, n, c,
                           static_cast<T*>(out));
    });
  });
}

void NllLossBackward(const Context& ctx, DType dtype, const void* grad_out, const int64_t* target,
                     int64_t n, int64_t c, void* grad_in) {
  DispatchFloat(dtype, "NllLossBackward", [&](auto t) {
    using T = decltype(t);
    Guard("NllLossBackward", [&] {
      k::NllLossBackward<T>(ctx, static_cast<const T*>(grad_out), target, n, c,
                            static_cast<T*>(grad_in));
    });
  });
}

void EmbeddingForward(const Context& ctx, DType dtype, const void* weight, int64_t dim,
                      const int64_t* ids, int64_t n_ids, void* out) {
  DispatchFloat(dtype, "Embedding", [&](auto t) {
    using T = decltype(t);
    Guard("Embedding", [&] {
      k::EmbeddingForward<T>(ctx, static_cast<const T*>(weight), dim, ids, n_ids,
                             static_cast<T*>(out));
    });
  });
}

void EmbeddingBackward(const Context& ctx, DType dtype, const void* grad_out, const int64_t* ids,
                       int64_t n_ids, int64_t dim, void* grad_weight) {
  DispatchFloat(dtype, "EmbeddingBackward", [&](auto t) {
    using T = decltype(t);
    Guard("EmbeddingBackward", [&] {
      k::EmbeddingBackward<T>(ctx, static_cast<const T*>(grad_out), ids, n_ids, dim,
                              static_cast<T*>(grad_weight));
    });
  });
}

void SgdStep(const Context& ctx, DType dtype, int64_t n, void* param, const void* grad,
             void* momentum_buf, double lr, double momentum, double weight_decay, bool first_step) {
  DispatchFloat(dtype, "SGD", [&](auto t) {
    using T = decltype(t);
    Guard("SGD", [&] {
      k::SgdStep<T>(ctx, n, static_cast<T*>(param), static_cast<const T*>(grad),
                    static_cast<T*>(momentum_buf), T(lr), T(momentum), T(weight_decay), first_step);
    });
  });
}

void AdamStep(const Context& ctx, DType dtype, int64_t n, void* param, const void* grad, void* m,
              void* v, double lr, double beta1, double beta2, double eps, double weight_decay,
              int64_t step) {
  DispatchFloat(dtype, "Adam", [&](auto t) {
    using T = decltype(t);
    Guard("Adam", [&] {
      k::AdamStep<T>(ctx, n, static_cast<T*>(param), static_cast<const T*>(grad),
                     static_cast<T*>(m), static_cast<T*>(v), T(lr), T(beta1), T(beta2), T(eps),
                     T(weight_decay), step);
    });
  });
}

}  // namespace

void RegisterCudaKernels() {
  constexpr Device::Type kCuda = Device::Type::kCUDA;
  auto set = [](auto op_tag, auto fn) {
    using Op = decltype(op_tag);
    Slots<Op>()[static_cast<int>(kCuda)].store(fn, std::memory_order_release);
  };
  set(UnaryKernel{}, &Unary);
  set(BinaryKernel{}, &Binary);
  set(FillKernel{}, &Fill);
  set(StridedCopyKernel{}, &StridedCopy);
  set(CastKernel{}, &Cast);
  set(CopyIntoSliceKernel{}, &CopyIntoSlice);
  set(SumDimKernel{}, &SumDim);
  set(MaxDimKernel{}, &MaxDim);
  set(MaxDimBackwardKernel{}, &MaxDimBackward);
  set(IndexCheckKernel{}, &IndexCheck);
  set(OneHotKernel{}, &OneHot);
  set(BatchedGemmKernel{}, &BatchedGemm);
  set(Conv2dForwardKernel{}, &Conv2dForward);
  set(Conv2dBackwardInputKernel{}, &Conv2dBackwardInput);
  set(Conv2dBackwardWeightKernel{}, &Conv2dBackwardWeight);
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
