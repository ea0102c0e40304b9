// libFuzzer target: the text input path of Predict/GetActivations for sst2: tokenizing and
// encoding with a vocabulary, then (for sentences of a bounded length, as the daemon's limits
// ensure) a Kim CNN forward pass in eval mode, whose probabilities must be finite and sum to 1.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/autograd.h"
#include "engine/data/sst2.h"
#include "engine/models/models.h"
#include "engine/ops.h"

namespace {

struct Fixture {
  mt::data::Vocab vocab = mt::data::Vocab::Build(
      {{"a great and moving film", 1}, {"dull , tedious and flat", 0}, {"a boring mess", 0}}, 1);
  std::unique_ptr<mt::models::KimCnn> model;
  Fixture() {
    mt::models::KimCnnOptions o;
    o.vocab_size = vocab.size();
    o.embedding_dim = 8;
    o.feature_maps = 4;
    model = std::make_unique<mt::models::KimCnn>(o, 1);
    model->Eval();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = new Fixture();
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<int64_t> ids = f->vocab.Encode(text);
  for (int64_t id : ids) {
    if (id < 0 || id >= f->vocab.size()) __builtin_trap();
  }
  if (ids.empty() || ids.size() > 512) return 0;
  const int64_t n = static_cast<int64_t>(ids.size());
  mt::Tensor input = mt::Tensor::FromInt64(ids, {1, n});
  mt::NoGradGuard no_grad;
  std::vector<double> lp = f->model->Forward(input).ToVector();
  double sum = 0;
  for (double v : lp) {
    if (!std::isfinite(v)) __builtin_trap();
    sum += std::exp(v);
  }
  if (lp.size() != 2 || std::abs(sum - 1) > 1e-4) __builtin_trap();
  return 0;
}
