// cuDNN convolution forward (see conv_cudnn.h): descriptors per call (cheap, host-only), one
// cuDNN handle per (device, stream) cached, the heuristic's first algorithm, workspace from the
// scratch allocator.
#include <cudnn.h>

#include <climits>
#include <map>
#include <mutex>
#include <utility>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv_cudnn.h"
#include "kernels/cuda/device_exec.cuh"

namespace mt::kernels::cuda {
namespace {

void CheckCudnn(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  throw CudaError(CudaErrorMessage("cuDNN error", cudnnGetErrorString(status), call, file, line),
                  status == CUDNN_STATUS_ALLOC_FAILED);
}
#define CUDNN_CHECK(call) CheckCudnn((call), #call, __FILE__, __LINE__)

cudnnHandle_t CudnnHandle(cudaStream_t stream) {
  static std::mutex mu;
  static auto* handles = new std::map<std::pair<int, cudaStream_t>, cudnnHandle_t>;
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(mu);
  auto it = handles->find({device, stream});
  if (it != handles->end()) return it->second;
  cudnnHandle_t handle = nullptr;
  CUDNN_CHECK(cudnnCreate(&handle));
  CUDNN_CHECK(cudnnSetStream(handle, stream));
  handles->emplace(std::make_pair(device, stream), handle);
  return handle;
}

// Owns the four descriptors of one call.
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, b = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Descriptors() {
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&b));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
  }
  ~Descriptors() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(b);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
};

template <typename T>
cudnnDataType_t DataType();
template <>
cudnnDataType_t DataType<float>() {
  return CUDNN_DATA_FLOAT;
}
template <>
cudnnDataType_t DataType<double>() {
  return CUDNN_DATA_DOUBLE;
}

}  // namespace

bool CudnnSupports(const Conv2dShape& s) {
  const int64_t dims[] = {s.batch,    s.in_channels, s.in_h,     s.in_w,    s.out_channels,
                          s.kernel_h, s.kernel_w,    s.stride_h, s.stride_w};
  for (int64_t d : dims) {
    if (d <= 0 || d > INT_MAX) return false;
  }
  return s.pad_top == s.pad_bottom && s.pad_left == s.pad_right && s.out_h() > 0 && s.out_w() > 0;
}

template <typename T>
bool Conv2dForwardCudnn(const Context& ctx, const Conv2dShape& s, const T* input, const T* weight,
                        const T* bias, T* out) {
  if (!CudnnSupports(s)) return false;
  const cudaStream_t stream = static_cast<cudaStream_t>(ctx.stream);
  cudnnHandle_t handle = CudnnHandle(stream);
  const cudnnDataType_t type = DataType<T>();
  Descriptors d;
  const int n = static_cast<int>(s.batch), c = static_cast<int>(s.in_channels);
  const int o = static_cast<int>(s.out_channels);
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.x, CUDNN_TENSOR_NCHW, type, n, c,
                                         static_cast<int>(s.in_h), static_cast<int>(s.in_w)));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(d.w, type, CUDNN_TENSOR_NCHW, o, c,
                                         static_cast<int>(s.kernel_h),
                                         static_cast<int>(s.kernel_w)));
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
      d.conv, static_cast<int>(s.pad_top), static_cast<int>(s.pad_left),
      static_cast<int>(s.stride_h), static_cast<int>(s.stride_w), 1, 1, CUDNN_CROSS_CORRELATION,
      type));
  // Full fp32 math, as the cuBLAS path (no TF32).
  CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, CUDNN_FMA_MATH));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, type, n, o,
                                         static_cast<int>(s.out_h()), static_cast<int>(s.out_w())));
  cudnnConvolutionFwdAlgoPerf_t perf[4];
  int found = 0;
  CUDNN_CHECK(
      cudnnGetConvolutionForwardAlgorithm_v7(handle, d.x, d.w, d.conv, d.y, 4, &found, perf));
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  for (int i = 0; i < found; ++i) {
    if (perf[i].status == CUDNN_STATUS_SUCCESS) {
      algo = perf[i].algo;
      break;
    }
  }
  size_t workspace_bytes = 0;
  CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle, d.x, d.w, d.conv, d.y, algo,
                                                      &workspace_bytes));
  DeviceExec ex(ctx);
  auto workspace = ex.Scratch<unsigned char>(workspace_bytes);
  const T one = 1, zero = 0;
  CUDNN_CHECK(cudnnConvolutionForward(handle, &one, d.x, input, d.w, weight, d.conv, algo,
                                      workspace.get(), workspace_bytes, &zero, d.y, out));
  if (bias != nullptr) {
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.b, CUDNN_TENSOR_NCHW, type, 1, o, 1, 1));
    CUDNN_CHECK(cudnnAddTensor(handle, &one, d.b, bias, &one, d.y, out));
  }
  return true;
}

template bool Conv2dForwardCudnn<float>(const Context&, const Conv2dShape&, const float*,
                                        const float*, const float*, float*);
template bool Conv2dForwardCudnn<double>(const Context&, const Conv2dShape&, const double*,
                                         const double*, const double*, double*);

}  // namespace mt::kernels::cuda
