// Helpers for engine tests: random float64 leaves presented to ops in different memory layouts.
#ifndef MT_TESTS_ENGINE_TEST_UTIL_H_
#define MT_TESTS_ENGINE_TEST_UTIL_H_

#include <algorithm>
#include <vector>

#include "engine/ops.h"
#include "engine/random.h"

namespace mt::testing {

// How an input reaches the op under test. Gradients must be right in every case.
enum class Layout {
  kContiguous,  // a dense leaf
  kPermuted,    // a leaf stored with reversed dims, permuted back: non-contiguous strides
  kBroadcast,   // a leaf with some dims of size 1, expanded: stride-0 dims, repeated values
};

inline const char* LayoutName(Layout l) {
  return l == Layout::kContiguous ? "contiguous" : l == Layout::kPermuted ? "permuted" : "broadcast";
}

inline std::vector<Layout> AllLayouts() {
  return {Layout::kContiguous, Layout::kPermuted, Layout::kBroadcast};
}

// The leaf's own shape for a given target shape and layout.
inline Shape LeafShape(const Shape& target, Layout layout, Generator& gen) {
  Shape s = target;
  if (layout == Layout::kPermuted) std::reverse(s.begin(), s.end());
  if (layout == Layout::kBroadcast) {
    // Collapse a random non-empty subset of dims to 1 (when any dim > 1 exists).
    bool any = false;
    for (int64_t& d : s) {
      if (d > 1 && gen.Uniform() < 0.5) {
        d = 1;
        any = true;
      }
    }
    if (!any) {
      for (int64_t& d : s) {
        if (d > 1) {
          d = 1;
          break;
        }
      }
    }
  }
  return s;
}

// Views `leaf` as `target` according to the layout.
inline Tensor Present(const Tensor& leaf, const Shape& target, Layout layout) {
  switch (layout) {
    case Layout::kContiguous:
      return leaf;
    case Layout::kPermuted: {
      std::vector<int64_t> dims(leaf.dim());
      for (int64_t i = 0; i < leaf.dim(); ++i) dims[i] = leaf.dim() - 1 - i;
      return Permute(leaf, dims);
    }
    case Layout::kBroadcast:
      return Expand(leaf, target);
  }
  return leaf;
}

inline Tensor RandLeaf(const Shape& shape, double lo, double hi, Generator& gen) {
  return RandUniform(shape, lo, hi, gen, DType::kFloat64);
}

// A random shape with ndim dims in [1, max_dim] and sizes in [1, max_size].
inline Shape RandomShape(Generator& gen, int min_dims, int max_dims, int max_size) {
  int nd = min_dims + static_cast<int>(gen.Below(max_dims - min_dims + 1));
  Shape s(nd);
  for (int64_t& d : s) d = 1 + static_cast<int64_t>(gen.Below(max_size));
  return s;
}

inline int64_t RandInt(Generator& gen, int64_t lo, int64_t hi) {  // inclusive
  return lo + static_cast<int64_t>(gen.Below(hi - lo + 1));
}

}  // namespace mt::testing

#endif  // MT_TESTS_ENGINE_TEST_UTIL_H_
