// Engine errors. Inside the engine, a misuse (bad shape, wrong dtype, index out of range) throws
// mt::Error at once with a message saying what was wrong and what would be right, as PyTorch and
// flashlight do: model code stays readable (`Relu(Conv2d(x, w))`, not a StatusOr per op).
// Everything that crosses a module boundary (loaders, trainer, job manager) returns absl::Status;
// the trainer converts a caught mt::Error into absl::InvalidArgumentError in one place (and
// mt::OutOfMemory into absl::ResourceExhaustedError).
#ifndef MT_ENGINE_ERROR_H_
#define MT_ENGINE_ERROR_H_

#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"

namespace mt {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// An allocator could not get the memory a tensor needs. Still an mt::Error (code that catches
// Error keeps working), but a distinct type so that module boundaries can report
// RESOURCE_EXHAUSTED instead of INVALID_ARGUMENT: the request was valid, the machine was full.
// Catch it before Error.
class OutOfMemory : public Error {
 public:
  explicit OutOfMemory(const std::string& what) : Error(what) {}
};

// A device failed (a GPU reported an error: an illegal address, a lost device, a failed copy).
// Not the request's fault: module boundaries report it as INTERNAL, naming the device.
class DeviceError : public Error {
 public:
  explicit DeviceError(const std::string& what) : Error(what) {}
};

}  // namespace mt

// MT_CHECK(cond, parts...) throws mt::Error(StrCat(parts...)) when cond is false.
#define MT_CHECK(cond, ...)                              \
  do {                                                   \
    if (!(cond)) throw ::mt::Error(absl::StrCat(__VA_ARGS__)); \
  } while (0)

#endif  // MT_ENGINE_ERROR_H_
