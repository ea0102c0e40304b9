// Index-check and one-hot bodies, emulated.
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/emu/test_util.h"
#include "kernels/cuda/index_body.h"
#include "kernels/reference/reference.h"

namespace mt::kernels::cuda::emu {
namespace {

namespace ref = ::mt::kernels::reference;

void Check(const std::vector<int64_t>& ids, int64_t limit) {
  EmuExec ex;
  int64_t position = 123, value = 456;
  FindIndexOutsideImpl(ex, ids.data(), static_cast<int64_t>(ids.size()), limit, &position, &value);
  const auto want = ref::FindIndexOutside(ids, limit);
  EXPECT_EQ(position, want.first);
  EXPECT_EQ(value, want.second);
}

TEST(IndexEmuTest, FindsTheFirstIdOutsideTheRange) {
  std::vector<int64_t> ids(1000);
  for (int i = 0; i < 1000; ++i) ids[i] = i % 10;
  Check(ids, 10);  // none
  ids[700] = 10;
  ids[900] = -1;
  ids[257] = 12;  // first bad, in another thread's stripe than 700
  Check(ids, 10);
  ids[3] = -5;
  Check(ids, 10);
  Check({}, 10);
  Check({0, 1, 2}, 0);
}

TEST(IndexEmuTest, OneHotMatchesReference) {
  const std::vector<int64_t> ids = {3, 0, 2, 2, 4};
  EmuExec ex;
  std::vector<float> f(25, 9.f);
  std::vector<int64_t> i(25, 9);
  OneHotImpl(ex, ids.data(), 5, 5, f.data());
  OneHotImpl(ex, ids.data(), 5, 5, i.data());
  const auto want = ref::OneHot(ids, 5);
  ExpectAllClose(f, want, 0, 0, "one hot");
  for (int k = 0; k < 25; ++k) EXPECT_EQ(double(i[k]), want[k]);
}

}  // namespace
}  // namespace mt::kernels::cuda::emu
