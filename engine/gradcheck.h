// Finite-difference gradient checking (central differences in float64), as in MiniTorch's and
// PyTorch's test suites: the analytic gradient of L = sum(f(x) * r), for a fixed random r, is
// compared with (L(x + eps e_j) - L(x - eps e_j)) / (2 eps) for every element j of every input.
#ifndef MT_ENGINE_GRADCHECK_H_
#define MT_ENGINE_GRADCHECK_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "engine/tensor.h"

namespace mt {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-4;
  uint64_t seed = 0;  // for the projection r
};

struct GradcheckResult {
  absl::Status status;       // OK, or the first mismatch: input, element, analytic, numeric
  int64_t elements_checked = 0;
  double max_abs_error = 0.0;
};

// `inputs` must be contiguous float64 leaves; they are set to require grad. f must be
// deterministic (reseed any generator inside it). Inputs that f does not use must get a zero
// analytic gradient.
GradcheckResult Gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          std::vector<Tensor> inputs, const GradcheckOptions& options = {});

}  // namespace mt

#endif  // MT_ENGINE_GRADCHECK_H_
