// Linked into mt-worker (alwayslink): "host:port" rendezvous addresses reach a daemon's store.
#include "engine/dist/store_factory.h"
#include "server/grpc_rendezvous_store.h"

namespace {

const bool registered = mt::dist::RegisterRemoteStoreFactory(&mt::server::OpenGrpcRendezvousStore);

}  // namespace
