// The communicator of a job with one rank: every collective is the identity, so single-process
// training can run the same data-parallel code path without a transport.
#ifndef MT_ENGINE_DIST_LOCAL_COMMUNICATOR_H_
#define MT_ENGINE_DIST_LOCAL_COMMUNICATOR_H_

#include <string>

#include "engine/dist/communicator.h"

namespace mt::dist {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  absl::Status AllReduceSum(float*, size_t) override { return absl::OkStatus(); }
  absl::Status AllReduceSum(double*, size_t) override { return absl::OkStatus(); }
  absl::Status Broadcast(void*, size_t, int root) override {
    if (root != 0) {
      return absl::InvalidArgumentError(
          "Broadcast root must be 0 in a world of size 1, got " + std::to_string(root));
    }
    return absl::OkStatus();
  }
  absl::Status Barrier() override { return absl::OkStatus(); }
  using Communicator::Broadcast;
};

}  // namespace mt::dist

#endif  // MT_ENGINE_DIST_LOCAL_COMMUNICATOR_H_
