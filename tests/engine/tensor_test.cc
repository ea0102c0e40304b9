// Tensors: creation, strided views over shared storage, broadcasting rules and errors.
#include "engine/tensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/ops.h"

namespace mt {
namespace {

using ::testing::HasSubstr;

TEST(Tensor, CreationAndMetadata) {
  Tensor t = Tensor::FromVector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.strides(), (Shape{3, 1}));
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.dtype(), DType::kFloat32);
  EXPECT_EQ(t.device(), Device::CPU());
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.size(-1), 3);
  EXPECT_THROW(t.size(2), Error);
  EXPECT_EQ(Tensor::Scalar(2.5, DType::kFloat64).item(), 2.5);
  EXPECT_EQ(Tensor::Zeros({0, 3}).numel(), 0);
  EXPECT_THROW(Tensor::FromVector({1, 2}, {3}), Error);
  EXPECT_EQ(Tensor::Arange(4).ToVector(), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_THROW(t.data<double>(), Error);
  // 64-byte alignment for vector kernels.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(Tensor::Empty({7}).raw_data()) % 64, 0u);
}

TEST(Tensor, ViewsShareStorageWithoutCopies) {
  Tensor t = Tensor::FromVector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor p = Transpose(t, 0, 1);
  EXPECT_EQ(p.shape(), (Shape{3, 2}));
  EXPECT_EQ(p.strides(), (Shape{1, 3}));
  EXPECT_FALSE(p.is_contiguous());
  EXPECT_EQ(p.raw_data(), t.raw_data());
  EXPECT_EQ(p.ToVector(), (std::vector<double>{1, 4, 2, 5, 3, 6}));

  Tensor row = Narrow(t, 0, 1, 1);
  EXPECT_EQ(row.offset(), 3);
  EXPECT_EQ(row.ToVector(), (std::vector<double>{4, 5, 6}));
  t.data<float>()[4] = 50;  // visible through every view
  EXPECT_EQ(row.ToVector(), (std::vector<double>{4, 50, 6}));
  EXPECT_EQ(p.ToVector()[3], 50);

  Tensor e = Expand(Tensor::FromVector({1, 2, 3}, {1, 3}), {4, 3});
  EXPECT_EQ(e.strides(), (Shape{0, 1}));
  EXPECT_EQ(e.ToVector().size(), 12u);

  Tensor v = View(t, {3, -1});
  EXPECT_EQ(v.shape(), (Shape{3, 2}));
  EXPECT_EQ(v.raw_data(), t.raw_data());
}

TEST(Tensor, ContiguousCopiesOnlyWhenNeeded) {
  Tensor t = Tensor::FromVector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(Contiguous(t).SameAs(t));
  Tensor c = Contiguous(Transpose(t, 0, 1));
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.raw_data(), t.raw_data());
  EXPECT_EQ(c.ToVector(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  // Batch slices of a contiguous tensor stay contiguous.
  EXPECT_TRUE(Narrow(Tensor::Zeros({8, 3, 2}), 0, 2, 4).is_contiguous());
}

TEST(Tensor, ViewErrorsAreClear) {
  Tensor t = Transpose(Tensor::Zeros({2, 3}), 0, 1);
  try {
    View(t, {6});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("use Reshape"));
  }
  EXPECT_EQ(Reshape(t, {6}).shape(), (Shape{6}));
  EXPECT_THROW(View(Tensor::Zeros({2, 3}), {4, 2}), Error);
  EXPECT_THROW(View(Tensor::Zeros({2, 3}), {-1, -1}), Error);
  EXPECT_THROW(Expand(Tensor::Zeros({2, 3}), {4, 3}), Error);
  EXPECT_THROW(Narrow(Tensor::Zeros({4}), 0, 3, 2), Error);
  EXPECT_THROW(Permute(Tensor::Zeros({2, 3}), {0, 0}), Error);
}

TEST(Tensor, BroadcastShapes) {
  EXPECT_EQ(BroadcastShapes({2, 1, 3}, {4, 1}), (Shape{2, 4, 3}));
  EXPECT_EQ(BroadcastShapes({}, {5}), (Shape{5}));
  EXPECT_THROW(BroadcastShapes({2, 3}, {3, 2}), Error);
}

TEST(Tensor, DTypes) {
  Tensor d = Tensor::FromVector({1.5, -2}, {2}, DType::kFloat64);
  EXPECT_EQ(ToDType(d, DType::kFloat32).ToVector(), (std::vector<double>{1.5, -2}));
  Tensor i = Tensor::FromInt64({3, -1}, {2});
  EXPECT_EQ(i.ToInt64Vector(), (std::vector<int64_t>{3, -1}));
  EXPECT_THROW(i.set_requires_grad(true), Error);
}

}  // namespace
}  // namespace mt
