#include "engine/gradcheck.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"

namespace mt {

GradcheckResult Gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          std::vector<Tensor> inputs, const GradcheckOptions& options) {
  GradcheckResult result;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype() != DType::kFloat64 || !inputs[i].is_contiguous() ||
        !inputs[i].is_leaf()) {
      result.status = absl::InvalidArgumentError(absl::StrCat(
          "gradcheck input ", i, " must be a contiguous float64 leaf, got ",
          inputs[i].ToString()));
      return result;
    }
    inputs[i].ZeroGrad();
    inputs[i].set_requires_grad(true);
  }

  Tensor out = f(inputs);
  if (out.dtype() != DType::kFloat64) {
    result.status = absl::InvalidArgumentError("gradcheck: f must return a float64 tensor");
    return result;
  }
  Generator gen(options.seed);
  // A random projection makes every output element matter with a distinct weight.
  Tensor r = RandUniform(out.shape(), -1.0, 1.0, gen, DType::kFloat64, out.device());
  auto loss = [&](const std::vector<Tensor>& xs) { return Sum(Mul(f(xs), r)); };
  if (!out.requires_grad()) {
    result.status = absl::InvalidArgumentError(
        "gradcheck: f's output does not depend on any input through differentiable ops");
    return result;
  }
  Tensor l = Sum(Mul(out, r));
  l.Backward();

  NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor analytic = inputs[i].grad();
    std::vector<double> a = analytic.defined() ? analytic.ToVector()
                                               : std::vector<double>(inputs[i].numel(), 0.0);
    double* x = inputs[i].data<double>();
    for (int64_t j = 0; j < inputs[i].numel(); ++j) {
      const double saved = x[j];
      x[j] = saved + options.eps;
      const double plus = loss(inputs).item();
      x[j] = saved - options.eps;
      const double minus = loss(inputs).item();
      x[j] = saved;
      const double numeric = (plus - minus) / (2.0 * options.eps);
      const double err = std::fabs(a[j] - numeric);
      result.max_abs_error = std::max(result.max_abs_error, err);
      ++result.elements_checked;
      if (!(err <= options.atol + options.rtol * std::fabs(numeric)) && result.status.ok()) {
        result.status = absl::InternalError(absl::StrCat(
            "gradient mismatch at input ", i, " ", ShapeToString(inputs[i].shape()),
            ", element ", j, ": analytic ", a[j], " vs numeric ", numeric, " (|diff| ", err,
            ")"));
      }
    }
  }
  return result;
}

}  // namespace mt
