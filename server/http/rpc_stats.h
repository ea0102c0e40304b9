// Counts and latencies of the daemon's RPCs by method and gRPC status code, for /metrics. The
// gRPC service records every call in its one logging helper (service.cc's CallLog); the HTTP
// side reads a snapshot. Process-wide, like the call log it sits beside: one daemon per process.
#ifndef MT_SERVER_HTTP_RPC_STATS_H_
#define MT_SERVER_HTTP_RPC_STATS_H_

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace mt::server::http {

// Upper bounds (seconds) of the latency histogram's buckets; +Inf is implied.
inline constexpr std::array<double, 12> kRpcLatencyBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30};

struct RpcSeries {
  int64_t count = 0;
  double sum_seconds = 0;
  // bucket_counts[i]: calls that took <= kRpcLatencyBuckets[i] (not cumulative; see metrics.cc).
  std::array<int64_t, kRpcLatencyBuckets.size()> bucket_counts{};
};

class RpcStats {
 public:
  // The daemon's (service.cc records into it).
  static RpcStats& Global();

  // `code`: the gRPC code's number (0 OK ... 16 UNAUTHENTICATED).
  void Record(const std::string& method, int code, double seconds);
  // (method, code name) → series.
  std::map<std::pair<std::string, std::string>, RpcSeries> Snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, RpcSeries> series_;
};

// "OK", "NOT_FOUND", ...; "CODE_<n>" beyond the canonical 17.
std::string GrpcCodeName(int code);

}  // namespace mt::server::http

#endif  // MT_SERVER_HTTP_RPC_STATS_H_
