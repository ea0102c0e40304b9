#include "engine/dist/store_factory.h"

#include <cctype>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/dist/file_store.h"

namespace mt::dist {
namespace {

std::mutex& FactoryMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}

RemoteStoreFactory& Factory() {
  static auto* factory = new RemoteStoreFactory;
  return *factory;
}

}  // namespace

bool RegisterRemoteStoreFactory(RemoteStoreFactory factory) {
  std::lock_guard<std::mutex> lock(FactoryMutex());
  Factory() = std::move(factory);
  return true;
}

bool IsNetworkAddress(const std::string& address) {
  if (address.find('/') != std::string::npos) return false;
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  for (size_t i = colon + 1; i < address.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(address[i]))) return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<RendezvousStore>> OpenRendezvousStore(const std::string& address) {
  if (address.empty()) {
    return absl::InvalidArgumentError(
        "a job of several workers needs a rendezvous: --rendezvous=DIR (a folder every worker "
        "can see) or --rendezvous=HOST:PORT (a daemon's store), or $MT_RENDEZVOUS");
  }
  if (!IsNetworkAddress(address)) {
    return std::unique_ptr<RendezvousStore>(new FileRendezvousStore(address));
  }
  RemoteStoreFactory factory;
  {
    std::lock_guard<std::mutex> lock(FactoryMutex());
    factory = Factory();
  }
  if (!factory) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--rendezvous=", address.substr(0, 100),
        " is a network address, which this binary cannot reach (mt-train knows only folders): "
        "give a folder every worker can see, or run mt-worker, which takes the same flags"));
  }
  return factory(address);
}

}  // namespace mt::dist
