#include "engine/dist/communicator.h"

namespace mt::dist {
namespace {

template <typename T>
absl::Status AverageAfterSum(Communicator& comm, T* data, size_t count) {
  absl::Status status = comm.AllReduceSum(data, count);
  if (!status.ok() || comm.size() == 1) return status;
  // Division (not multiplication by 1/size) so that a size of 2 or 4 is exact and every rank
  // computes the same bits from the same sum.
  const T n = static_cast<T>(comm.size());
  for (size_t i = 0; i < count; ++i) data[i] /= n;
  return absl::OkStatus();
}

}  // namespace

absl::Status Communicator::AllReduceAverage(float* data, size_t count) {
  return AverageAfterSum(*this, data, count);
}

absl::Status Communicator::AllReduceAverage(double* data, size_t count) {
  return AverageAfterSum(*this, data, count);
}

}  // namespace mt::dist
