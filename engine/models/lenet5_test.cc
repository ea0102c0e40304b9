// LeNet-5's training path pools before its ReLUs (a quarter of the ReLU work); the path that
// records feature maps keeps the textbook order. Both must give the same logits and the same
// parameter gradients, bit for bit, on real-looking inputs with negative windows and ties.
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/models/models.h"
#include "engine/ops.h"

namespace mt {
namespace {

TEST(Lenet5, PoolingBeforeReluGivesTheTextbookValuesAndGradients) {
  {
    const DType dt = DType::kFloat32;  // the models' parameters are float32
    models::Lenet5 net(3);
    Generator gen(5);
    Tensor x = RandUniform({6, 1, 28, 28}, -1, 1, gen, dt);
    // Ties: a flat patch (equal values in whole pooling windows) in one image.
    std::vector<double> v = x.ToVector();
    for (int i = 0; i < 8 * 28; ++i) v[i] = 0.25;
    x = Tensor::FromVector(v, x.shape(), dt);
    const Tensor target = Tensor::FromInt64({0, 1, 2, 3, 4, 5}, {6});

    std::vector<std::vector<double>> grads[2];
    std::vector<double> logits[2];
    for (int path = 0; path < 2; ++path) {
      net.ZeroGrad();
      models::Activations maps;
      Tensor out = net.Forward(x, path == 0 ? nullptr : &maps);
      if (path == 1) {
        ASSERT_FALSE(maps.empty());
      }
      logits[path] = out.ToVector();
      NllLoss(out, target).Backward();
      for (const Tensor& p : net.Parameters()) grads[path].push_back(p.grad().ToVector());
    }
    EXPECT_EQ(logits[0], logits[1]) << DTypeName(dt);
    ASSERT_EQ(grads[0].size(), grads[1].size());
    for (size_t i = 0; i < grads[0].size(); ++i) EXPECT_EQ(grads[0][i], grads[1][i]) << i;
  }
}

}  // namespace
}  // namespace mt
