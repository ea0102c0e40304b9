// A Communicator over Gloo's TCP transport (Debian's libgloo-dev): CPU buffers, one process (or
// thread) per rank, ranks finding each other through a RendezvousStore.
#ifndef MT_ENGINE_DIST_GLOO_COMMUNICATOR_H_
#define MT_ENGINE_DIST_GLOO_COMMUNICATOR_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/dist/communicator.h"
#include "engine/dist/rendezvous_store.h"

namespace gloo {
class Context;
}  // namespace gloo

namespace mt::dist {

struct GlooOptions {
  // Upper bound on rendezvous and on every collective: a dead or stalled peer turns into an
  // error Status after at most this long instead of a hang.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  // Bounds the rendezvous instead, when longer than `timeout` (0: `timeout`): ranks that start
  // slowly (a busy machine loading its data) may need longer to arrive than a collective may
  // stall once they train.
  std::chrono::milliseconds rendezvous_timeout{0};
  // The address this rank listens on and publishes to its peers. Loopback suits ranks on one
  // machine; across machines pass the host's address on the network the peers share.
  std::string hostname = "127.0.0.1";
  // Prepended to every key this communicator writes into the store, so that several
  // communicators (or jobs) can share one store.
  std::string key_prefix = "mt";
};

class GlooCommunicator final : public Communicator {
 public:
  // Connects rank `rank` of `size` to every other rank (a full mesh of TCP pairs). Collective:
  // every rank must call it with the same size, store contents and key_prefix, concurrently.
  // Ignores SIGPIPE process-wide on first use: a write to a dead peer's socket would otherwise
  // kill this process instead of surfacing as an error.
  static absl::StatusOr<std::unique_ptr<GlooCommunicator>> Create(int rank, int size,
                                                                  RendezvousStore& store,
                                                                  const GlooOptions& options);
  ~GlooCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  absl::Status AllReduceSum(float* data, size_t count) override;
  absl::Status AllReduceSum(double* data, size_t count) override;
  absl::Status Broadcast(void* data, size_t bytes, int root) override;
  absl::Status Barrier() override;
  using Communicator::Broadcast;

  // Closes the connections to every peer: this rank leaves the job. Peers' pending and later
  // collectives fail (their error names this rank); this communicator's later calls fail too.
  void Close();

 private:
  GlooCommunicator(int rank, int size, std::chrono::milliseconds timeout,
                   std::shared_ptr<gloo::Context> context, std::vector<std::string> peers);

  // Runs one Gloo collective, turning its exceptions into a Status and marking this
  // communicator broken on failure.
  template <typename Fn>
  absl::Status Run(const char* what, Fn&& fn);
  template <typename T>
  absl::Status AllReduceSumImpl(T* data, size_t count);

  const int rank_;
  const int size_;
  const std::chrono::milliseconds timeout_;
  std::shared_ptr<gloo::Context> context_;
  // Each peer's transport address as Gloo prints it in errors ("[127.0.0.1]:port"), by rank
  // (empty for this rank), so an error can name the peer's rank.
  std::vector<std::string> peer_addresses_;
  // Every collective gets the next tag; ranks agree because they issue collectives in order.
  uint32_t next_tag_ = 0;
  // Why this communicator can no longer be used; empty while healthy.
  std::string broken_;
};

}  // namespace mt::dist

#endif  // MT_ENGINE_DIST_GLOO_COMMUNICATOR_H_
