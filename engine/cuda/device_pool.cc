#include "engine/cuda/device_pool.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/cuda/runtime.h"

namespace mt::cuda {
namespace {

std::string Size(int64_t bytes) {
  if (bytes >= (int64_t{1} << 30)) return absl::StrFormat("%.2f GiB", bytes / double(1 << 30));
  if (bytes >= (int64_t{1} << 20)) return absl::StrFormat("%.1f MiB", bytes / double(1 << 20));
  return absl::StrCat(bytes, " bytes");
}

class RealDevice : public DeviceMemory {
 public:
  explicit RealDevice(int index) : index_(index) {}
  absl::StatusOr<void*> Malloc(size_t nbytes) override { return cuda::Malloc(index_, nbytes); }
  void Free(void* ptr) override { (void)cuda::Free(index_, ptr); }
  absl::Status Synchronize() override { return DeviceSynchronize(index_); }
  absl::StatusOr<std::pair<int64_t, int64_t>> FreeAndTotal() override {
    absl::StatusOr<GpuMemoryInfo> m = MemoryInfo(index_);
    if (!m.ok()) return m.status();
    return std::make_pair(m->free_bytes, m->total_bytes);
  }

 private:
  int index_;
};

}  // namespace

std::unique_ptr<DeviceMemory> CudaDeviceMemory(int index) {
  return std::make_unique<RealDevice>(index);
}

DevicePool::DevicePool(std::unique_ptr<DeviceMemory> device, std::string name)
    : device_(std::move(device)), name_(std::move(name)) {}

DevicePool::~DevicePool() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!free_.empty()) (void)device_->Synchronize();
  ReleaseCachedLocked();
}

size_t DevicePool::BucketSize(size_t nbytes) {
  constexpr size_t kSmallStep = 512, kSmallLimit = size_t{1} << 20;
  if (nbytes <= kSmallLimit) return nbytes == 0 ? kSmallStep : (nbytes + kSmallStep - 1) / kSmallStep * kSmallStep;
  const int log2 = 63 - __builtin_clzll(static_cast<unsigned long long>(nbytes));
  const size_t step = size_t{1} << (log2 - 2);
  return (nbytes + step - 1) / step * step;
}

void* DevicePool::TakeCachedLocked(size_t bucket, void* stream) {
  // The stream's own blocks first (no wait at all), then the shared ones.
  for (void* key : {stream, static_cast<void*>(nullptr)}) {
    auto it = free_.find({key, bucket});
    if (it == free_.end() || it->second.empty()) continue;
    void* p = it->second.back();
    it->second.pop_back();
    if (it->second.empty()) free_.erase(it);
    return p;
  }
  return nullptr;
}

void DevicePool::ReleaseCachedLocked() {
  for (auto& [key, blocks] : free_) {
    for (void* p : blocks) device_->Free(p);
    stats_.device_frees += static_cast<int64_t>(blocks.size());
  }
  free_.clear();
  stats_.cached_bytes = 0;
}

std::string DevicePool::DescribeLocked(size_t nbytes) {
  std::string where;
  absl::StatusOr<std::pair<int64_t, int64_t>> ft = device_->FreeAndTotal();
  if (ft.ok()) {
    where = absl::StrCat(", ", Size(ft->first), " free of ", Size(ft->second),
                         " (other processes may hold the rest)");
  }
  return absl::StrCat("out of memory on ", name_, ": cannot allocate ",
                      Size(static_cast<int64_t>(nbytes)), "; this job's tensors hold ",
                      Size(stats_.in_use_bytes), where);
}

absl::StatusOr<void*> DevicePool::Allocate(size_t nbytes, void* stream) {
  const size_t bucket = BucketSize(nbytes);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.allocations;
  void* p = TakeCachedLocked(bucket, stream);
  if (p != nullptr) {
    ++stats_.cache_hits;
    stats_.cached_bytes -= static_cast<int64_t>(bucket);
  } else {
    absl::StatusOr<void*> fresh = device_->Malloc(bucket);
    if (!fresh.ok() && absl::IsResourceExhausted(fresh.status()) && !free_.empty()) {
      // Cached blocks of other sizes may be what stands in the way: once the device is idle,
      // give them back and try again.
      if (absl::Status s = device_->Synchronize(); !s.ok()) return s;
      ReleaseCachedLocked();
      fresh = device_->Malloc(bucket);
    }
    if (!fresh.ok()) {
      ++stats_.out_of_memory;
      if (absl::IsResourceExhausted(fresh.status())) {
        return absl::ResourceExhaustedError(DescribeLocked(nbytes));
      }
      return absl::Status(fresh.status().code(),
                          absl::StrCat("allocating ", Size(static_cast<int64_t>(nbytes)), " on ",
                                       name_, " failed: ", fresh.status().message()));
    }
    p = *fresh;
    ++stats_.device_allocations;
  }
  in_use_[p] = Block{bucket, stream};
  stats_.in_use_bytes += static_cast<int64_t>(bucket);
  stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
  return p;
}

void DevicePool::Free(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_use_.find(ptr);
  if (it == in_use_.end()) return;
  const Block b = it->second;
  in_use_.erase(it);
  stats_.in_use_bytes -= static_cast<int64_t>(b.bucket);
  stats_.cached_bytes += static_cast<int64_t>(b.bucket);
  free_[{b.stream, b.bucket}].push_back(ptr);
}

void DevicePool::RetireStream(void* stream) {
  if (stream == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = free_.begin(); it != free_.end();) {
    if (it->first.first != stream) {
      ++it;
      continue;
    }
    std::vector<void*>& shared = free_[{nullptr, it->first.second}];
    shared.insert(shared.end(), it->second.begin(), it->second.end());
    it = free_.erase(it);
  }
  // The stream's work is done, so its live blocks are free of it too; the handle may be
  // reused by a stream created later.
  for (auto& [ptr, block] : in_use_) {
    if (block.stream == stream) block.stream = nullptr;
  }
}

absl::Status DevicePool::EmptyCache() {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.empty()) return absl::OkStatus();
  if (absl::Status s = device_->Synchronize(); !s.ok()) return s;
  ReleaseCachedLocked();
  return absl::OkStatus();
}

DevicePoolStats DevicePool::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace mt::cuda
