#include "kernels/cpu/embedding.h"

#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cpu {
namespace {

using testing::RandomInt;
using testing::RandomVector;

template <typename T>
class EmbeddingTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(EmbeddingTest, Types);

TYPED_TEST(EmbeddingTest, ForwardGathersRows) {
  using T = TypeParam;
  std::mt19937_64 rng(60);
  // Small, and large enough for the threaded path.
  for (auto [num, dim, n_ids] : {std::tuple<int64_t, int64_t, int64_t>{5, 3, 7},
                                 {1, 1, 1},
                                 {50, 0, 4},
                                 {1000, 130, 900}}) {
    const auto weight = RandomVector<T>(num * dim, rng);
    std::vector<int64_t> ids(n_ids);
    for (auto& id : ids) id = RandomInt(rng, 0, num - 1);
    std::vector<T> out(n_ids * dim);
    EmbeddingForward<T>(testing::Ctx(), weight.data(), dim, ids.data(), n_ids, out.data());
    for (int64_t i = 0; i < n_ids; ++i) {
      for (int64_t c = 0; c < dim; ++c) {
        ASSERT_EQ(out[i * dim + c], weight[ids[i] * dim + c]) << i << "," << c;
      }
    }
  }
}

TYPED_TEST(EmbeddingTest, BackwardAccumulatesRepeatedIds) {
  using T = TypeParam;
  // ids [2, 0, 2]: row 2 gets grad rows 0 and 2, row 0 gets row 1, row 1 keeps its value.
  const std::vector<int64_t> ids = {2, 0, 2};
  const std::vector<T> grad_out = {1, 2, 10, 20, 100, 200};  // (3, 2)
  std::vector<T> grad_weight = {0, 0, 5, 5, 0, 0};            // (3, 2), row 1 pre-filled
  EmbeddingBackward<T>(testing::Ctx(), grad_out.data(), ids.data(), 3, 2, grad_weight.data());
  EXPECT_EQ(grad_weight, (std::vector<T>{10, 20, 5, 5, 101, 202}));
}

TYPED_TEST(EmbeddingTest, BackwardMatchesReferenceOnLargeInputs) {
  using T = TypeParam;
  std::mt19937_64 rng(61);
  for (auto [num, dim, n_ids] : {std::tuple<int64_t, int64_t, int64_t>{7, 5, 40},
                                 {300, 200, 2000},  // Threaded, by column blocks.
                                 {20, 1, 10000}}) {
    const auto grad_out = RandomVector<T>(n_ids * dim, rng);
    std::vector<int64_t> ids(n_ids);
    for (auto& id : ids) id = RandomInt(rng, 0, num - 1);
    std::vector<T> grad_weight(num * dim, T(0));
    EmbeddingBackward<T>(testing::Ctx(), grad_out.data(), ids.data(), n_ids, dim,
                         grad_weight.data());
    // Same order of additions (id order) as any correct race-free kernel: compare exactly.
    const std::vector<T> ref =
        reference::EmbeddingBackward(grad_out, ids, dim, std::vector<T>(num * dim, T(0)));
    EXPECT_EQ(grad_weight, ref);
  }
}

}  // namespace
}  // namespace mt::kernels::cpu
