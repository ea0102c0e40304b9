// Opens the rendezvous store a worker was pointed at (mt-train --rendezvous, $MT_RENDEZVOUS):
// a directory every rank can see (FileRendezvousStore), or "host:port" of a store served over
// the network. The engine knows nothing of gRPC, so the network kind comes from a factory that a
// binary registers at start-up (mt-worker links the daemon's gRPC store client, which does);
// mt-train alone accepts directories only.
#ifndef MT_ENGINE_DIST_STORE_FACTORY_H_
#define MT_ENGINE_DIST_STORE_FACTORY_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/dist/rendezvous_store.h"

namespace mt::dist {

using RemoteStoreFactory =
    std::function<absl::StatusOr<std::unique_ptr<RendezvousStore>>(const std::string& address)>;

// Installs the factory for "host:port" addresses (replacing any earlier one). Returns true, so a
// library can register from a namespace-scope initializer.
bool RegisterRemoteStoreFactory(RemoteStoreFactory factory);

// True when `address` names a network store ("host:port", "[v6]:port") rather than a directory
// (anything with a '/', or without a ":digits" ending).
bool IsNetworkAddress(const std::string& address);

// The store at `address`; InvalidArgument when it is empty or a network address no registered
// factory serves (saying to use a directory or mt-worker).
absl::StatusOr<std::unique_ptr<RendezvousStore>> OpenRendezvousStore(const std::string& address);

}  // namespace mt::dist

#endif  // MT_ENGINE_DIST_STORE_FACTORY_H_
