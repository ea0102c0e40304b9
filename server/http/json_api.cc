#include "server/http/json_api.h"

#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/tasks/registry.h"
#include "nlohmann/json.hpp"

namespace mt::server::http {
namespace {

using nlohmann::json;

constexpr int64_t kMaxWaitMs = 20000;
constexpr int64_t kMaxIndex = 1'000'000'000;
constexpr int64_t kMaxSeq = int64_t{1} << 50;
constexpr size_t kMaxListedJobs = 1000;
constexpr size_t kMaxQuoted = 40;

std::string Quoted(const std::string& s) {
  return "'" + (s.size() <= kMaxQuoted ? s : s.substr(0, kMaxQuoted) + "...") + "'";
}

// Proto message → JSON value (proto3 mapping, .proto field names, zeros included).
json ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  std::string s;
  if (!google::protobuf::util::MessageToJsonString(m, &s, o).ok()) return json();
  return json::parse(s, nullptr, /*allow_exceptions=*/false);
}

// Only the parameters named in `allowed`; each an integer in [lo, hi] (absent: `fallback`).
class Query {
 public:
  Query(const std::map<std::string, std::string>& q, std::set<std::string> allowed)
      : q_(q), allowed_(std::move(allowed)) {}

  absl::Status CheckNames() const {
    for (const auto& [name, value] : q_) {
      if (!allowed_.count(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown query parameter ", Quoted(name), "; this endpoint takes ",
            allowed_.empty() ? "none" : absl::StrJoin(allowed_, ", ")));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Int(const std::string& name, int64_t lo, int64_t hi,
                              std::optional<int64_t> fallback) const {
    auto it = q_.find(name);
    if (it == q_.end() || it->second.empty()) {
      if (fallback) return *fallback;
      return absl::InvalidArgumentError(
          absl::StrCat("missing query parameter ", name, " (an integer from ", lo, " to ", hi, ")"));
    }
    const std::string& v = it->second;
    bool digits = v.size() <= 18;
    for (char c : v) digits = digits && c >= '0' && c <= '9';
    const int64_t n = digits ? std::stoll(v) : -1;
    if (!digits || n < lo || n > hi) {
      return absl::InvalidArgumentError(absl::StrCat("invalid ", name, " ", Quoted(v),
                                                     ": must be an integer from ", lo, " to ", hi));
    }
    return n;
  }

 private:
  const std::map<std::string, std::string>& q_;
  std::set<std::string> allowed_;
};

json Floats(const std::vector<float>& v) {
  json a = json::array();
  for (float x : v) a.push_back(x);
  return a;
}

json InputJson(const ActivationsResult& r) {
  json in;
  in["shape"] = r.input.shape;
  in["data"] = Floats(r.input.values);
  return in;
}

// Invalid UTF-8 (a client's path or parameter, quoted in an error, or cut by Quoted mid-character)
// becomes U+FFFD: json's default dump() would throw and the client would get a bare 500.
std::string Dump(const json& body) {
  return body.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

ApiResponse Ok(const json& body) { return ApiResponse{200, Dump(body)}; }

}  // namespace

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition: return 409;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

ApiResponse ErrorResponse(const absl::Status& status) {
  json e;
  e["error"]["code"] = absl::StatusCodeToString(status.code());
  // StatusCodeToString says "NOT_FOUND"-style names already for the canonical codes.
  e["error"]["message"] = std::string(status.message());
  return ApiResponse{HttpStatusOf(status.code()), Dump(e)};
}

absl::StatusOr<Caller> JsonApi::Authenticate(const std::string& authorization) const {
  if (tokens_ == nullptr) return Caller::Local();
  return tokens_->Authenticate(authorization);
}

absl::Status JsonApi::Authorize(const Caller& caller, const std::string& job_id) const {
  if (caller.admin) return absl::OkStatus();
  absl::StatusOr<v1::Job> job = manager_->Get(job_id);
  if (!job.ok()) return job.status();
  return CheckJobAccess(caller, *job);
}

ApiResponse JsonApi::Handle(const ApiRequest& req) {
  absl::StatusOr<Caller> caller = Authenticate(req.authorization);
  if (!caller.ok()) return ErrorResponse(caller.status());
  std::vector<std::string> parts = absl::StrSplit(req.path, '/');
  // "/api/jobs/ID/events" → "", "api", "jobs", "ID", "events"
  if (parts.size() < 3 || parts[0] != "" || parts[1] != "api") {
    return ErrorResponse(absl::NotFoundError(
        absl::StrCat("no such endpoint ", Quoted(req.path), "; try /api/jobs")));
  }
  if (parts.size() == 3 && parts[2] == "devices") {
    Query q(req.query, {});
    if (absl::Status s = q.CheckNames(); !s.ok()) return ErrorResponse(s);
    json out;
    out["devices"] = json::array();
    for (const v1::Device& d : manager_->Devices()) out["devices"].push_back(ToJson(d));
    return Ok(out);
  }
  if (parts[2] != "jobs" || parts.size() > 5) {
    return ErrorResponse(absl::NotFoundError(
        absl::StrCat("no such endpoint ", Quoted(req.path), "; try /api/jobs")));
  }
  if (parts.size() == 3) {
    Query q(req.query, {"state"});
    if (absl::Status s = q.CheckNames(); !s.ok()) return ErrorResponse(s);
    v1::JobState state = v1::JOB_STATE_UNSPECIFIED;
    if (auto it = req.query.find("state"); it != req.query.end() && !it->second.empty()) {
      std::string upper = it->second;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (!v1::JobState_Parse(upper, &state) || state == v1::JOB_STATE_UNSPECIFIED) {
        return ErrorResponse(absl::InvalidArgumentError(absl::StrCat(
            "invalid state ", Quoted(it->second),
            ": use queued, running, succeeded, failed, cancelled or interrupted")));
      }
    }
    json out;
    out["jobs"] = json::array();
    for (const v1::Job& j : manager_->ListVisibleTo(state, *caller)) {
      if (out["jobs"].size() >= kMaxListedJobs) break;
      out["jobs"].push_back(ToJson(j));
    }
    return Ok(out);
  }
  const std::string& id = parts[3];
  if (absl::Status s = Authorize(*caller, id); !s.ok()) return ErrorResponse(s);
  const std::string what = parts.size() == 5 ? parts[4] : "";

  if (what.empty()) {
    Query q(req.query, {});
    if (absl::Status s = q.CheckNames(); !s.ok()) return ErrorResponse(s);
    absl::StatusOr<v1::Job> job = manager_->Get(id);
    if (!job.ok()) return ErrorResponse(job.status());
    json out;
    out["job"] = ToJson(*job);
    out["class_names"] = json::array();
    out["input"] = "";
    if (const tasks::Task* task = tasks::FindTask(job->spec().task())) {
      out["class_names"] = task->class_names();
      out["input"] = task->accepts_images() ? "image" : "text";
    }
    return Ok(out);
  }
  if (what == "events") {
    Query q(req.query, {"from_seq", "wait_ms", "progress_version"});
    if (absl::Status s = q.CheckNames(); !s.ok()) return ErrorResponse(s);
    absl::StatusOr<int64_t> from = q.Int("from_seq", 1, kMaxSeq, 1);
    if (!from.ok()) return ErrorResponse(from.status());
    absl::StatusOr<int64_t> wait = q.Int("wait_ms", 0, kMaxWaitMs, 0);
    if (!wait.ok()) return ErrorResponse(wait.status());
    absl::StatusOr<int64_t> version = q.Int("progress_version", 0, kMaxSeq, 0);
    if (!version.ok()) return ErrorResponse(version.status());
    absl::StatusOr<WatchBatch> b = manager_->Watch(id, *from, /*follow=*/*wait > 0, *version,
                                                   std::chrono::milliseconds(*wait));
    if (!b.ok()) return ErrorResponse(b.status());
    json out;
    out["events"] = json::array();
    int64_t next = *from;
    for (const v1::JobEvent& e : b->events) {
      out["events"].push_back(ToJson(e));
      next = std::max(next, e.seq() + 1);
    }
    out["next_seq"] = next;
    out["progress"] = b->has_progress ? ToJson(b->progress) : json();
    out["progress_version"] = b->has_progress ? b->progress_version : *version;
    out["finished"] = b->finished;
    return Ok(out);
  }
  if (what == "activations" || what == "example" || what == "predict") {
    Query q(req.query, {"index"});
    if (absl::Status s = q.CheckNames(); !s.ok()) return ErrorResponse(s);
    absl::StatusOr<int64_t> index = q.Int("index", 0, kMaxIndex, std::nullopt);
    if (!index.ok()) return ErrorResponse(index.status());
    ModelInput in;
    in.kind = ModelInput::Kind::kValidIndex;
    in.valid_index = *index;
    json out;
    if (what != "activations") {
      absl::StatusOr<v1::PredictResponse> p = manager_->Predict(id, in);
      if (!p.ok()) return ErrorResponse(p.status());
      if (what == "predict") return Ok(ToJson(*p));
      out["prediction"] = ToJson(*p);
    }
    absl::StatusOr<ActivationsResult> r = manager_->Activations(id, in);
    if (!r.ok()) return ErrorResponse(r.status());
    out["label"] = r->label;
    out["input"] = InputJson(*r);
    out["tokens"] = r->input.tokens;
    if (what == "activations") {
      out["layers"] = json::array();
      for (const Activation& a : r->layers) {
        json l;
        l["name"] = a.layer;
        l["shape"] = a.shape;
        l["data"] = Floats(a.data);
        out["layers"].push_back(std::move(l));
      }
    }
    return Ok(out);
  }
  return ErrorResponse(absl::NotFoundError(absl::StrCat(
      "no such endpoint ", Quoted(req.path),
      "; a job has /events, /activations, /example and /predict")));
}

}  // namespace mt::server::http
