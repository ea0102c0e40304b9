#include "kernels/cpu/index.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/test_util.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cpu {
namespace {

TEST(IndexTest, FindsTheFirstIndexOutsideTheRange) {
  const std::vector<int64_t> ok = {0, 3, 1, 2};
  EXPECT_EQ(FindIndexOutside(testing::Ctx(), ok.data(), 4, 4).position, -1);
  const std::vector<int64_t> bad = {0, 4, -1, 9};
  const IndexError e = FindIndexOutside(testing::Ctx(), bad.data(), 4, 4);
  EXPECT_EQ(e.position, 1);
  EXPECT_EQ(e.value, 4);
  const std::vector<int64_t> negative = {2, -3};
  const IndexError n = FindIndexOutside(testing::Ctx(), negative.data(), 2, 4);
  EXPECT_EQ(n.position, 1);
  EXPECT_EQ(n.value, -3);
  EXPECT_EQ(FindIndexOutside(testing::Ctx(), nullptr, 0, 4).position, -1);
}

template <typename T>
class OneHotTest : public ::testing::Test {};
using Types = ::testing::Types<float, double, int64_t>;
TYPED_TEST_SUITE(OneHotTest, Types);

TYPED_TEST(OneHotTest, ExactValuesOverwritingGarbage) {
  using T = TypeParam;
  const std::vector<int64_t> ids = {2, 0, 2};
  std::vector<T> out(9, T(7));
  OneHot<T>(testing::Ctx(), ids.data(), 3, 3, out.data());
  EXPECT_EQ(out, (std::vector<T>{0, 0, 1, 1, 0, 0, 0, 0, 1}));
  const std::vector<double> ref = reference::OneHot(ids, 3);
  EXPECT_EQ(std::vector<double>(out.begin(), out.end()), ref);
}

}  // namespace
}  // namespace mt::kernels::cpu
