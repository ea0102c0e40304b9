// A RendezvousStore in a directory that every rank can see (one machine, or a shared file
// system): one file per key, written atomically. Used by tests and single-machine jobs; across
// machines the daemon's gRPC-served store replaces it.
#ifndef MT_ENGINE_DIST_FILE_STORE_H_
#define MT_ENGINE_DIST_FILE_STORE_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/dist/rendezvous_store.h"

namespace gloo::rendezvous {
class FileStore;
}  // namespace gloo::rendezvous

namespace mt::dist {

class FileRendezvousStore final : public RendezvousStore {
 public:
  // directory must exist (or be creatable) and be empty of another job's keys: keys are not
  // namespaced by job, so give each job (and each test) its own directory.
  explicit FileRendezvousStore(const std::string& directory);
  ~FileRendezvousStore() override;

  absl::Status Set(const std::string& key, const std::vector<char>& value) override;
  absl::StatusOr<std::vector<char>> Get(const std::string& key,
                                        std::chrono::milliseconds timeout) override;
  absl::Status Wait(const std::vector<std::string>& keys,
                    std::chrono::milliseconds timeout) override;

 private:
  std::string directory_;
  // Gloo's FileStore does the atomic writes and polling; it is thread-safe for distinct keys.
  std::unique_ptr<gloo::rendezvous::FileStore> store_;
};

}  // namespace mt::dist

#endif  // MT_ENGINE_DIST_FILE_STORE_H_
