// The rendezvous store a coordinating daemon serves to the workers of its multi-worker runs
// (RendezvousSet/RendezvousGet over gRPC, the same keys Gloo's file store would hold): one scope
// per run, opened when the run starts and closed when it ends, each with a random secret that
// only that run's workers are given. Bounded in keys, sizes and waits; no gRPC here.
#ifndef MT_SERVER_RENDEZVOUS_TABLE_H_
#define MT_SERVER_RENDEZVOUS_TABLE_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/dist/rendezvous_store.h"

namespace mt::server {

struct RendezvousLimits {
  size_t max_key_bytes = 512;
  size_t max_value_bytes = 64 << 10;
  size_t max_keys_per_scope = 1 << 14;  // Gloo's full mesh of 64 ranks needs ~4,200
  size_t max_keys_per_get = 1024;
  std::chrono::milliseconds max_wait{std::chrono::minutes(10)};
  size_t max_scopes = 256;
};

class RendezvousTable {
 public:
  explicit RendezvousTable(RendezvousLimits limits = {}) : limits_(limits) {}

  // A new scope and its secret (32 hex digits from the system's random source).
  // AlreadyExists when open; ResourceExhausted beyond max_scopes.
  absl::StatusOr<std::string> Open(const std::string& scope);
  // Forgets the scope's keys and wakes its waiters (which then fail). Idempotent.
  void Close(const std::string& scope);

  // NotFound for a scope that is not open; PermissionDenied for a wrong secret (the same
  // answer whether or not it was close); InvalidArgument / ResourceExhausted past the limits.
  absl::Status Set(const std::string& scope, const std::string& secret, const std::string& key,
                   std::vector<char> value);
  // The keys' values once every one is set; DeadlineExceeded naming the missing keys (a few)
  // after `timeout` (clamped to max_wait).
  absl::StatusOr<std::vector<std::vector<char>>> Get(const std::string& scope,
                                                     const std::string& secret,
                                                     const std::vector<std::string>& keys,
                                                     std::chrono::milliseconds timeout);

 private:
  struct Scope {
    std::string secret;
    std::map<std::string, std::vector<char>> values;
    bool closed = false;
  };
  absl::StatusOr<std::shared_ptr<Scope>> Find(const std::string& scope,
                                              const std::string& secret) const;

  const RendezvousLimits limits_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Scope>> scopes_;  // guarded by mu_
};

// One scope of the table as an engine RendezvousStore: how the coordinator's own rank 0 uses
// the store its remote workers reach over gRPC.
class TableRendezvousStore final : public dist::RendezvousStore {
 public:
  TableRendezvousStore(RendezvousTable* table, std::string scope, std::string secret)
      : table_(table), scope_(std::move(scope)), secret_(std::move(secret)) {}
  absl::Status Set(const std::string& key, const std::vector<char>& value) override {
    return table_->Set(scope_, secret_, key, value);
  }
  absl::StatusOr<std::vector<char>> Get(const std::string& key,
                                        std::chrono::milliseconds timeout) override {
    absl::StatusOr<std::vector<std::vector<char>>> v = table_->Get(scope_, secret_, {key}, timeout);
    if (!v.ok()) return v.status();
    return std::move((*v)[0]);
  }
  absl::Status Wait(const std::vector<std::string>& keys,
                    std::chrono::milliseconds timeout) override {
    return table_->Get(scope_, secret_, keys, timeout).status();
  }

 private:
  RendezvousTable* table_;
  const std::string scope_, secret_;
};

}  // namespace mt::server

#endif  // MT_SERVER_RENDEZVOUS_TABLE_H_
