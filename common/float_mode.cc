#include "common/float_mode.h"

#include <cstdlib>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace mt {
namespace {
#if defined(__SSE2__)
constexpr unsigned kFlushToZero = 0x8000;     // MXCSR.FTZ: subnormal results become 0
constexpr unsigned kDenormalsAreZero = 0x40;  // MXCSR.DAZ: subnormal inputs read as 0
#endif
}  // namespace

bool FlushDenormalsUnlessKept() {
  const char* keep = std::getenv("MT_DENORMALS");
  if (keep != nullptr && std::strcmp(keep, "keep") == 0) return DenormalsFlushed();
#if defined(__SSE2__)
  _mm_setcsr(_mm_getcsr() | kFlushToZero | kDenormalsAreZero);
  return true;
#else
  return false;
#endif
}

bool DenormalsFlushed() {
#if defined(__SSE2__)
  return (_mm_getcsr() & kFlushToZero) != 0;
#else
  return false;
#endif
}

}  // namespace mt
