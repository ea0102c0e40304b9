// The dashboard's JSON API, without the network: a request (path, query parameters, the
// Authorization header) in, a status and a JSON body out. http_server.cc is the only caller.
//
//   GET /api/jobs[?state=running]          {"jobs": [Job, ...]} newest first (at most 1000)
//   GET /api/jobs/ID                        {"job": Job, "class_names": [...], "input": "image"|"text"}
//   GET /api/jobs/ID/events?from_seq=N&wait_ms=M&progress_version=V
//       {"events": [JobEvent, ...], "next_seq": N, "progress": JobEvent|null,
//        "progress_version": V, "finished": bool}
//       The job's persisted events with seq >= from_seq (every kind, as WatchJob streams them),
//       waiting up to wait_ms (<= 20000) for the first one or for a batch progress newer than
//       progress_version: long polling for live pages.
//   GET /api/jobs/ID/activations?index=N   the held-out example N through the latest checkpoint:
//       {"label", "input": {"shape", "data"}, "tokens": [...] (text tasks), "layers": [{"name",
//        "shape", "data"}]}
//   GET /api/jobs/ID/example?index=N       {"label", "input", "tokens", "prediction"} (no layers)
//   GET /api/jobs/ID/predict?index=N       {"probabilities", "predicted_class", "label",
//                                            "checkpoint_epoch", "class_names"}
//   GET /api/devices                        {"devices": [Device, ...]}
// Job, JobEvent and Device are the proto messages in proto3's JSON mapping with the .proto field
// names (int64 values are strings there). Errors: {"error": {"code": "NOT_FOUND", "message":
// "..."}} with the HTTP status of the code. Authentication is gRPC's (auth.h): with tokens
// configured, "Authorization: Bearer TOKEN" is required and jobs are visible to their owner
// and admins only.
#ifndef MT_SERVER_HTTP_JSON_API_H_
#define MT_SERVER_HTTP_JSON_API_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "server/auth.h"
#include "server/job_manager.h"

namespace mt::server::http {

struct ApiRequest {
  std::string path;                          // "/api/jobs/job-000001/events"
  std::map<std::string, std::string> query;  // decoded query parameters
  std::string authorization;                 // the header's value, "" when absent
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON
};

// The HTTP status for an error code (InvalidArgument 400, Unauthenticated 401, ...).
int HttpStatusOf(absl::StatusCode code);
// {"error": {...}} with the matching status.
ApiResponse ErrorResponse(const absl::Status& status);

class JsonApi {
 public:
  // tokens == nullptr: authentication off (every caller is Caller::Local()).
  JsonApi(JobManager* manager, const TokenTable* tokens) : manager_(manager), tokens_(tokens) {}

  ApiResponse Handle(const ApiRequest& request);

  // Who calls; Unauthenticated saying what to send when tokens are on and it is missing/wrong.
  absl::StatusOr<Caller> Authenticate(const std::string& authorization) const;

 private:
  absl::Status Authorize(const Caller& caller, const std::string& job_id) const;

  JobManager* manager_;
  const TokenTable* tokens_;
};

}  // namespace mt::server::http

#endif  // MT_SERVER_HTTP_JSON_API_H_
