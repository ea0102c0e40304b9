#include "kernels/reference/reference.h"

#include <array>

namespace mt::kernels::reference {

double Unary(UnaryOp op, double x) {
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
      return x > 0 ? x : 0;
    case UnaryOp::kSigmoid:
      return 1 / (1 + std::exp(-x));
    case UnaryOp::kSoftplus:
      return std::log(1 + std::exp(x));
    case UnaryOp::kTanh:
      return std::tanh(x);
    case UnaryOp::kSqrt:
      return std::sqrt(x);
    case UnaryOp::kAbs:
      return std::abs(x);
  }
  return 0;
}

double Binary(BinaryOp op, double a, double b) {
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
      return a < b ? 1 : 0;
    case BinaryOp::kEq:
      return a == b ? 1 : 0;
    case BinaryOp::kGt:
      return a > b ? 1 : 0;
    case BinaryOp::kMaximum:
      return a > b ? a : b;
    case BinaryOp::kReluBackward:
      return b > 0 ? a : 0;
    case BinaryOp::kPow:
      return std::pow(a, b);
  }
  return 0;
}

std::pair<int64_t, int64_t> FindIndexOutside(const std::vector<int64_t>& ids, int64_t limit) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= limit) return {static_cast<int64_t>(i), ids[i]};
  }
  return {-1, 0};
}

std::vector<double> OneHot(const std::vector<int64_t>& ids, int64_t num_classes) {
  std::vector<double> out(ids.size() * num_classes, 0.0);
  for (size_t i = 0; i < ids.size(); ++i) out[i * num_classes + ids[i]] = 1.0;
  return out;
}

std::vector<double> NllLossBackward(double g, const std::vector<int64_t>& target, int64_t c) {
  std::vector<double> grad(target.size() * c, 0.0);
  for (size_t i = 0; i < target.size(); ++i) {
    grad[i * c + target[i]] = -g / static_cast<double>(target.size());
  }
  return grad;
}

namespace {

// Philox4x32-10 written from the paper's definition (Salmon et al., SC'11), independently of
// kernels/random_bits.h: ten rounds of two 32x32->64 multiplies, the key bumped by the Weyl
// constants between rounds.
std::array<uint32_t, 4> Philox(std::array<uint32_t, 4> x, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    const uint64_t a = uint64_t{0xD2511F53} * x[0];
    const uint64_t b = uint64_t{0xCD9E8D57} * x[2];
    x = {uint32_t(b >> 32) ^ x[1] ^ k0, uint32_t(b), uint32_t(a >> 32) ^ x[3] ^ k1, uint32_t(a)};
    k0 += 0x9E3779B9;
    k1 += 0xBB67AE85;
  }
  return x;
}

}  // namespace

std::array<uint32_t, 4> Philox4x32x10(std::array<uint32_t, 4> counter, uint32_t key0,
                                      uint32_t key1) {
  return Philox(counter, key0, key1);
}

std::vector<double> DropoutMask(std::mt19937_64 engine, int64_t n, double keep, double scale) {
  std::vector<double> mask(n);
  const uint64_t key = engine();
  for (int64_t i = 0; i < n; ++i) {
    const auto w = Philox({uint32_t(i), uint32_t(uint64_t(i) >> 32), 0, 0}, uint32_t(key),
                          uint32_t(key >> 32));
    const uint64_t bits = ((uint64_t{w[0]} << 32) | w[1]) >> 11;  // 53 bits
    mask[i] = static_cast<double>(bits) / 9007199254740992.0 < keep ? scale : 0.0;
  }
  return mask;
}

void SgdStep(std::vector<double>& param, const std::vector<double>& grad,
             std::vector<double>& momentum_buf, double lr, double momentum, double weight_decay,
             bool first_step) {
  for (size_t i = 0; i < param.size(); ++i) {
    double g = grad[i] + weight_decay * param[i];
    if (momentum != 0) {
      momentum_buf[i] = first_step ? g : momentum * momentum_buf[i] + g;
      g = momentum_buf[i];
    }
    param[i] -= lr * g;
  }
}

void AdamStep(std::vector<double>& param, const std::vector<double>& grad, std::vector<double>& m,
              std::vector<double>& v, double lr, double beta1, double beta2, double eps,
              double weight_decay, int64_t step) {
  for (size_t i = 0; i < param.size(); ++i) {
    const double g = grad[i] + weight_decay * param[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    param[i] -= lr * (m[i] / (1 - std::pow(beta1, step))) /
                (std::sqrt(v[i] / (1 - std::pow(beta2, step))) + eps);
  }
}

}  // namespace mt::kernels::reference
