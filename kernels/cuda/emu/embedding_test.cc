// Embedding bodies, emulated; the backward must equal a serial scatter-add bit for bit.
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/embedding_body.h"
#include "kernels/cuda/emu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda::emu {
namespace {

namespace ref = ::mt::kernels::reference;

template <typename T>
class EmbeddingEmuTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(EmbeddingEmuTest, Types);

TYPED_TEST(EmbeddingEmuTest, ForwardGathersRows) {
  using T = TypeParam;
  std::mt19937_64 rng(11);
  const int64_t num = 9, dim = 13;
  auto weight = RandomVector<T>(num * dim, rng);
  const std::vector<int64_t> ids = {4, 0, 8, 4, 4, 1};
  std::vector<T> out(ids.size() * dim);
  EmuExec ex;
  EmbeddingForwardImpl(ex, weight.data(), dim, ids.data(), int64_t(ids.size()), out.data());
  ExpectAllClose(out, ref::EmbeddingForward(weight, dim, ids), 0, 0, "embedding forward");
}

TYPED_TEST(EmbeddingEmuTest, BackwardEqualsSerialScatterAddExactly) {
  using T = TypeParam;
  std::mt19937_64 rng(12);
  for (int64_t dim : {3, 40, 300}) {  // fewer columns than threads, and more (column loop)
    const int64_t num = 7, n_ids = 60;
    std::vector<int64_t> ids(n_ids);
    for (auto& id : ids) id = RandomInt(rng, 0, num - 1);  // many repeats
    auto g = RandomVector<T>(n_ids * dim, rng);
    auto initial = RandomVector<T>(num * dim, rng);  // not zero: order of adds matters
    std::vector<T> gw = initial;
    EmuExec ex;
    EmbeddingBackwardImpl(ex, g.data(), ids.data(), n_ids, dim, gw.data());
    EXPECT_EQ(gw, ref::EmbeddingBackward(g, ids, dim, initial)) << "dim=" << dim;
  }
}

}  // namespace
}  // namespace mt::kernels::cuda::emu
