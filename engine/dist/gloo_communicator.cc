#include "engine/dist/gloo_communicator.h"

#include <algorithm>
#include <csignal>
#include <exception>
#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gloo/allreduce.h"
#include "gloo/barrier.h"
#include "gloo/broadcast.h"
#include "gloo/common/error.h"
#include "gloo/math.h"
#include "gloo/rendezvous/context.h"
#include "gloo/rendezvous/store.h"
#include "gloo/transport/tcp/device.h"
#include "gloo/transport/pair.h"

namespace mt::dist {
namespace {

// Presents an mt RendezvousStore to Gloo, which expects exceptions rather than Status.
class GlooStoreAdapter final : public gloo::rendezvous::Store {
 public:
  GlooStoreAdapter(RendezvousStore& store, std::string prefix, std::chrono::milliseconds timeout)
      : store_(store), prefix_(std::move(prefix)), timeout_(timeout) {}

  void set(const std::string& key, const std::vector<char>& data) override {
    Throw(store_.Set(Key(key), data));
  }
  std::vector<char> get(const std::string& key) override {
    absl::StatusOr<std::vector<char>> value = store_.Get(Key(key), timeout_);
    Throw(value.status());
    return *std::move(value);
  }
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override {
    std::vector<std::string> full;
    full.reserve(keys.size());
    for (const std::string& key : keys) full.push_back(Key(key));
    Throw(store_.Wait(full, timeout));
  }

 private:
  std::string Key(const std::string& key) const { return absl::StrCat(prefix_, "/", key); }
  static void Throw(const absl::Status& status) {
    if (!status.ok()) throw gloo::IoException(std::string(status.message()));
  }

  RendezvousStore& store_;
  const std::string prefix_;
  const std::chrono::milliseconds timeout_;
};

void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

absl::StatusOr<std::unique_ptr<GlooCommunicator>> GlooCommunicator::Create(
    int rank, int size, RendezvousStore& store, const GlooOptions& options) {
  if (size < 1 || rank < 0 || rank >= size) {
    return absl::InvalidArgumentError(absl::StrCat("Gloo communicator needs 0 <= rank < size, got rank ",
                                                   rank, " and size ", size));
  }
  if (options.timeout.count() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Gloo communicator timeout must be positive, got ", options.timeout.count(),
                     " ms"));
  }
  IgnoreSigpipeOnce();
  try {
    gloo::transport::tcp::attr attr;
    attr.hostname = options.hostname;
    std::shared_ptr<gloo::transport::Device> device = gloo::transport::tcp::CreateDevice(attr);
    auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
    const std::chrono::milliseconds rendezvous = std::max(options.timeout, options.rendezvous_timeout);
    context->setTimeout(rendezvous);
    GlooStoreAdapter adapter(store, options.key_prefix, rendezvous);
    context->connectFullMesh(adapter, device);
    // Gloo's transport errors name the peer by the address of its end of the pair; learn
    // those addresses (each rank publishes its end of every pair) so errors can name ranks.
    for (int i = 0; i < size; ++i) {
      if (i == rank) continue;
      const std::string address = context->getPair(i)->address().str();
      adapter.set(absl::StrCat("pair/", rank, "/", i),
                  std::vector<char>(address.begin(), address.end()));
    }
    std::vector<std::string> peers(size);
    for (int i = 0; i < size; ++i) {
      if (i == rank) continue;
      const std::vector<char> address = adapter.get(absl::StrCat("pair/", i, "/", rank));
      peers[i].assign(address.begin(), address.end());
    }
    context->setTimeout(options.timeout);  // every collective also passes it explicitly
    return std::unique_ptr<GlooCommunicator>(
        new GlooCommunicator(rank, size, options.timeout, std::move(context), std::move(peers)));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("Gloo rendezvous of rank ", rank, " of ", size,
                                               " (listening on ", options.hostname,
                                               ") failed: ", e.what()));
  }
}

GlooCommunicator::GlooCommunicator(int rank, int size, std::chrono::milliseconds timeout,
                                   std::shared_ptr<gloo::Context> context,
                                   std::vector<std::string> peers)
    : rank_(rank),
      size_(size),
      timeout_(timeout),
      context_(std::move(context)),
      peer_addresses_(std::move(peers)) {}

GlooCommunicator::~GlooCommunicator() = default;

void GlooCommunicator::Close() {
  if (context_ == nullptr) return;
  try {
    context_->closeConnections();
  } catch (const std::exception&) {
    // Closing a pair whose peer already left can throw; the connections are gone either way.
  }
  if (broken_.empty()) broken_ = "Close() was called";
}

template <typename Fn>
absl::Status GlooCommunicator::Run(const char* what, Fn&& fn) {
  if (!broken_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Gloo ", what, " on rank ", rank_, " of ", size_,
                     ": communicator unusable since an earlier failure (", broken_,
                     "); build a new one"));
  }
  try {
    fn(next_tag_++);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    const std::string message = e.what();
    std::string peer;
    for (int i = 0; i < size_; ++i) {
      if (!peer_addresses_[i].empty() && absl::StrContains(message, peer_addresses_[i])) {
        peer = absl::StrCat(" (peer rank ", i, ")");
        break;
      }
    }
    broken_ = absl::StrCat(what, " failed: ", message);
    const bool timed_out = absl::StrContains(message, "imed out") ||
                           absl::StrContains(message, "imeout");
    // A timeout names no address, and some transport errors name the socket's ephemeral port
    // rather than the address the peer published; with two ranks the peer can only be the other.
    if (peer.empty() && size_ == 2) {
      peer = absl::StrCat(" (peer rank ", 1 - rank_, timed_out ? " did not answer)" : ")");
    }
    const std::string text =
        absl::StrCat("Gloo ", what, " on rank ", rank_, " of ", size_, " failed", peer,
                     timed_out ? absl::StrCat(" within the ", timeout_.count(), " ms timeout") : "",
                     ": ", message);
    return timed_out ? absl::DeadlineExceededError(text) : absl::UnavailableError(text);
  }
}

template <typename T>
absl::Status GlooCommunicator::AllReduceSumImpl(T* data, size_t count) {
  if (count == 0) return absl::OkStatus();
  return Run("all-reduce", [&](uint32_t tag) {
    gloo::AllreduceOptions opts(context_);
    opts.setOutput(data, count);
    opts.setReduceFunction(
        static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<T>));
    opts.setTag(tag);
    opts.setTimeout(timeout_);
    gloo::allreduce(opts);
  });
}

absl::Status GlooCommunicator::AllReduceSum(float* data, size_t count) {
  return AllReduceSumImpl(data, count);
}

absl::Status GlooCommunicator::AllReduceSum(double* data, size_t count) {
  return AllReduceSumImpl(data, count);
}

absl::Status GlooCommunicator::Broadcast(void* data, size_t bytes, int root) {
  if (root < 0 || root >= size_) {
    return absl::InvalidArgumentError(
        absl::StrCat("Broadcast root must be in [0, ", size_, "), got ", root));
  }
  if (bytes == 0) return absl::OkStatus();
  return Run("broadcast", [&](uint32_t tag) {
    gloo::BroadcastOptions opts(context_);
    opts.setOutput(static_cast<uint8_t*>(data), bytes);
    opts.setRoot(root);
    opts.setTag(tag);
    opts.setTimeout(timeout_);
    gloo::broadcast(opts);
  });
}

absl::Status GlooCommunicator::Barrier() {
  return Run("barrier", [&](uint32_t tag) {
    gloo::BarrierOptions opts(context_);
    opts.setTag(tag);
    opts.setTimeout(timeout_);
    gloo::barrier(opts);
  });
}

}  // namespace mt::dist
