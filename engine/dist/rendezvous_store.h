// The key-value store through which ranks find each other before they connect (each rank
// publishes its transport address under a key and waits for the others').
//
// Kept free of Gloo types so that a store served over gRPC by the coordinating daemon (issue 11,
// across machines) can implement it in server/ without linking Gloo; GlooCommunicator adapts any
// RendezvousStore to Gloo's own store interface.
#ifndef MT_ENGINE_DIST_RENDEZVOUS_STORE_H_
#define MT_ENGINE_DIST_RENDEZVOUS_STORE_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt::dist {

class RendezvousStore {
 public:
  virtual ~RendezvousStore() = default;

  // Stores value under key (visible to every rank of the job). Implementations must be safe to
  // call from several threads (ranks as threads share one store in tests).
  virtual absl::Status Set(const std::string& key, const std::vector<char>& value) = 0;

  // The value under key, waiting up to timeout for some rank to set it; DEADLINE_EXCEEDED names
  // the key if none did.
  virtual absl::StatusOr<std::vector<char>> Get(const std::string& key,
                                                std::chrono::milliseconds timeout) = 0;

  // Returns once every key is set, or DEADLINE_EXCEEDED naming the missing keys after timeout.
  virtual absl::Status Wait(const std::vector<std::string>& keys,
                            std::chrono::milliseconds timeout) = 0;
};

}  // namespace mt::dist

#endif  // MT_ENGINE_DIST_RENDEZVOUS_STORE_H_
