#include "engine/random.h"

#include <cmath>
#include <sstream>

#include "kernels/random_bits.h"

namespace mt {

double Generator::Uniform() {
  // The same draw as the dropout-mask kernel's, so masks made there continue this stream.
  return kernels::Uniform01(engine_);
}

double Generator::Normal() {
  double u1 = Uniform();
  double u2 = Uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

uint64_t Generator::Below(uint64_t n) {
  MT_CHECK(n > 0, "Generator::Below(0): the range must be non-empty");
  // Rejection sampling keeps the draw unbiased.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t r;
  do {
    r = engine_();
  } while (r >= limit);
  return r % n;
}

std::string Generator::State() const {
  std::ostringstream os;
  os << engine_;
  return os.str();
}

absl::Status Generator::SetState(const std::string& state) {
  std::istringstream is(state);
  std::mt19937_64 e;
  is >> e;
  if (is.fail()) {
    return absl::InvalidArgumentError(
        "random generator state is malformed: expected the text written by Generator::State()");
  }
  engine_ = e;
  return absl::OkStatus();
}

Tensor RandUniform(const Shape& shape, double lo, double hi, Generator& gen, DType dtype,
                   Device device) {
  std::vector<double> v(NumElements(shape));
  for (double& x : v) x = gen.Uniform(lo, hi);
  return Tensor::FromVector(v, shape, dtype, device);
}

Tensor RandNormal(const Shape& shape, double mean, double std, Generator& gen, DType dtype,
                  Device device) {
  std::vector<double> v(NumElements(shape));
  for (double& x : v) x = mean + std * gen.Normal();
  return Tensor::FromVector(v, shape, dtype, device);
}

}  // namespace mt
