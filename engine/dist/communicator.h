// Collective communication between the ranks of one data-parallel job, on raw host buffers.
//
// The engine's data-parallel code talks only to this interface, so the transport underneath can
// change without touching the trainer: GlooCommunicator (TCP, CPU buffers) today, LocalCommunicator
// for a world of one, and later an NCCL implementation for device buffers (the seam: an
// NcclCommunicator deriving from Communicator whose buffers are device pointers, bootstrapped by
// rank 0 publishing ncclUniqueId through the same RendezvousStore that Gloo uses).
//
// Contract shared by every implementation:
// - Every rank must issue the same collectives in the same order with the same element counts
//   (as with MPI, Gloo and PyTorch's process groups); a mismatch is undefined behaviour that
//   typically shows as a timeout.
// - No call blocks longer than the communicator's timeout: a peer that died or stopped taking
//   part yields a non-OK Status (UNAVAILABLE or DEADLINE_EXCEEDED) whose message names this rank
//   and, where the transport says, the peer's rank.
// - After a failed collective the communicator is broken: every later call returns
//   FAILED_PRECONDITION. Recover by building a new one (in a job: restart all ranks).
#ifndef MT_ENGINE_DIST_COMMUNICATOR_H_
#define MT_ENGINE_DIST_COMMUNICATOR_H_

#include <cstddef>

#include "absl/status/status.h"

namespace mt::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;

  // This process's rank in [0, size()).
  virtual int rank() const = 0;
  // The number of ranks in the job (>= 1).
  virtual int size() const = 0;

  // In place: data[i] becomes the sum over ranks of data[i]. data: [count].
  virtual absl::Status AllReduceSum(float* data, size_t count) = 0;
  virtual absl::Status AllReduceSum(double* data, size_t count) = 0;

  // In place: data[i] becomes (sum over ranks of data[i]) / size(). The division happens after
  // the sum, on every rank identically, so every rank ends with the same bits. data: [count].
  absl::Status AllReduceAverage(float* data, size_t count);
  absl::Status AllReduceAverage(double* data, size_t count);

  // Copies root's `bytes` bytes at data into data on every other rank. root in [0, size()).
  virtual absl::Status Broadcast(void* data, size_t bytes, int root) = 0;
  absl::Status Broadcast(float* data, size_t count, int root) {
    return Broadcast(static_cast<void*>(data), count * sizeof(float), root);
  }

  // Returns once every rank has entered Barrier().
  virtual absl::Status Barrier() = 0;
};

}  // namespace mt::dist

#endif  // MT_ENGINE_DIST_COMMUNICATOR_H_
