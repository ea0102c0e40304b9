#include "engine/dist/file_store.h"

#include <sys/stat.h>

#include <exception>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gloo/rendezvous/file_store.h"

namespace mt::dist {

FileRendezvousStore::FileRendezvousStore(const std::string& directory) : directory_(directory) {
  // Gloo's FileStore expects the directory to exist; create one level for convenience.
  ::mkdir(directory.c_str(), 0700);
  store_ = std::make_unique<gloo::rendezvous::FileStore>(directory);
}

FileRendezvousStore::~FileRendezvousStore() = default;

absl::Status FileRendezvousStore::Set(const std::string& key, const std::vector<char>& value) {
  try {
    store_->set(key, value);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rendezvous store in ", directory_,
                                               ": cannot set key '", key, "': ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<char>> FileRendezvousStore::Get(const std::string& key,
                                                           std::chrono::milliseconds timeout) {
  absl::Status waited = Wait({key}, timeout);
  if (!waited.ok()) return waited;
  try {
    return store_->get(key);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rendezvous store in ", directory_,
                                               ": cannot read key '", key, "': ", e.what()));
  }
}

absl::Status FileRendezvousStore::Wait(const std::vector<std::string>& keys,
                                       std::chrono::milliseconds timeout) {
  try {
    store_->wait(keys, timeout);
  } catch (const std::exception& e) {
    return absl::DeadlineExceededError(absl::StrCat(
        "rendezvous store in ", directory_, ": keys [", absl::StrJoin(keys, ", "),
        "] not all set within ", timeout.count(), " ms (did every rank start?): ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace mt::dist
