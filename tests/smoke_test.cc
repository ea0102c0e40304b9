#include <gtest/gtest.h>
#include "absl/status/statusor.h"
TEST(Smoke, Works) { absl::StatusOr<int> s = 3; EXPECT_EQ(*s, 3); absl::Status e = absl::InvalidArgumentError("x"); EXPECT_FALSE(e.ok()); }
