// A seeded random generator whose full state can be saved and restored (for checkpoints that
// resume with identical results).
#ifndef MT_ENGINE_RANDOM_H_
#define MT_ENGINE_RANDOM_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "engine/tensor.h"

namespace mt {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : engine_(seed) {}

  void Seed(uint64_t seed) { engine_.seed(seed); }
  // Uniform in [0, 1).
  double Uniform();
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Standard normal (Box–Muller, so the draw count per call is fixed and portable).
  double Normal();
  // Uniform integer in [0, n).
  uint64_t Below(uint64_t n);
  std::mt19937_64& engine() { return engine_; }

  // Text form of the full engine state; SetState restores it exactly.
  std::string State() const;
  absl::Status SetState(const std::string& state);

 private:
  std::mt19937_64 engine_;
};

// Tensors of random values (contiguous, new storage). Drawn on the host in row-major order,
// whatever the device, so a seed gives the same values everywhere.
Tensor RandUniform(const Shape& shape, double lo, double hi, Generator& gen,
                   DType dtype = DType::kFloat32, Device device = Device::CPU());
Tensor RandNormal(const Shape& shape, double mean, double std, Generator& gen,
                  DType dtype = DType::kFloat32, Device device = Device::CPU());

}  // namespace mt

#endif  // MT_ENGINE_RANDOM_H_
