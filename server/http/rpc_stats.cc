#include "server/http/rpc_stats.h"

namespace mt::server::http {

RpcStats& RpcStats::Global() {
  static RpcStats* stats = new RpcStats();  // never destroyed: RPCs may end during exit
  return *stats;
}

void RpcStats::Record(const std::string& method, int code, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  RpcSeries& s = series_[{method, GrpcCodeName(code)}];
  ++s.count;
  s.sum_seconds += seconds;
  for (size_t i = 0; i < kRpcLatencyBuckets.size(); ++i) {
    if (seconds <= kRpcLatencyBuckets[i]) {
      ++s.bucket_counts[i];
      break;
    }
  }
}

std::map<std::pair<std::string, std::string>, RpcSeries> RpcStats::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return series_;
}

std::string GrpcCodeName(int code) {
  static const char* const kNames[] = {
      "OK",        "CANCELLED",         "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",      "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(sizeof kNames / sizeof kNames[0])) return kNames[code];
  return "CODE_" + std::to_string(code);
}

}  // namespace mt::server::http
