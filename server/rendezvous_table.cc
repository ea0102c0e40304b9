#include "server/rendezvous_table.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/short_quote.h"

namespace mt::server {
namespace {

std::string RandomSecret() {
  std::random_device rd;  // /dev/urandom on Linux
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) s.push_back(kHex[rd() & 15]);
  return s;
}

// Compares without stopping at the first difference, so timing says nothing about the secret.
bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

absl::StatusOr<std::string> RendezvousTable::Open(const std::string& scope) {
  std::lock_guard<std::mutex> lock(mu_);
  if (scopes_.count(scope)) {
    return absl::AlreadyExistsError(absl::StrCat("rendezvous scope ", scope, " is already open"));
  }
  if (scopes_.size() >= limits_.max_scopes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many multi-worker runs at once (", limits_.max_scopes, " rendezvous scopes open)"));
  }
  auto s = std::make_shared<Scope>();
  s->secret = RandomSecret();
  scopes_[scope] = s;
  return s->secret;
}

void RendezvousTable::Close(const std::string& scope) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = scopes_.find(scope);
  if (it == scopes_.end()) return;
  it->second->closed = true;
  scopes_.erase(it);
  changed_.notify_all();
}

absl::StatusOr<std::shared_ptr<RendezvousTable::Scope>> RendezvousTable::Find(
    const std::string& scope, const std::string& secret) const {
  auto it = scopes_.find(scope);
  if (it == scopes_.end()) {
    return absl::NotFoundError(absl::StrCat("no multi-worker run with rendezvous scope ",
                                            ShortQuote(scope),
                                            " is running here (it ended, or never started)"));
  }
  if (!SameSecret(it->second->secret, secret)) {
    return absl::PermissionDeniedError(
        absl::StrCat("wrong secret for rendezvous scope ", ShortQuote(scope)));
  }
  return it->second;
}

absl::Status RendezvousTable::Set(const std::string& scope, const std::string& secret,
                                  const std::string& key, std::vector<char> value) {
  if (key.empty() || key.size() > limits_.max_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("rendezvous keys must have 1 to ",
                                                   limits_.max_key_bytes, " bytes, got ",
                                                   key.size()));
  }
  if (value.size() > limits_.max_value_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("rendezvous values may have at most ",
                                                   limits_.max_value_bytes, " bytes, got ",
                                                   value.size()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::shared_ptr<Scope>> s = Find(scope, secret);
  if (!s.ok()) return s.status();
  auto& values = (*s)->values;
  if (!values.count(key) && values.size() >= limits_.max_keys_per_scope) {
    return absl::ResourceExhaustedError(absl::StrCat("rendezvous scope ", ShortQuote(scope),
                                                     " already holds ", values.size(),
                                                     " keys, the most allowed"));
  }
  values[key] = std::move(value);
  changed_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<char>>> RendezvousTable::Get(
    const std::string& scope, const std::string& secret, const std::vector<std::string>& keys,
    std::chrono::milliseconds timeout) {
  if (keys.empty() || keys.size() > limits_.max_keys_per_get) {
    return absl::InvalidArgumentError(absl::StrCat("ask for 1 to ", limits_.max_keys_per_get,
                                                   " rendezvous keys at once, not ", keys.size()));
  }
  // Checked as Set checks them: the timeout's message quotes the missing keys.
  for (const std::string& k : keys) {
    if (k.empty() || k.size() > limits_.max_key_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("rendezvous keys must have 1 to ",
                                                     limits_.max_key_bytes, " bytes, got ",
                                                     k.size()));
    }
  }
  timeout = std::clamp(timeout, std::chrono::milliseconds(0), limits_.max_wait);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  absl::StatusOr<std::shared_ptr<Scope>> found = Find(scope, secret);
  if (!found.ok()) return found.status();
  std::shared_ptr<Scope> s = *found;
  std::vector<std::string> missing;
  for (;;) {
    if (s->closed) {
      return absl::NotFoundError(
          absl::StrCat("rendezvous scope ", ShortQuote(scope), " closed (its run ended)"));
    }
    missing.clear();
    for (const std::string& k : keys) {
      if (!s->values.count(k)) missing.push_back(k);
    }
    if (missing.empty()) break;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      missing.clear();
      for (const std::string& k : keys) {
        if (!s->values.count(k)) missing.push_back(k);
      }
      if (missing.empty()) break;
      const bool more = missing.size() > 5;
      if (more) missing.resize(5);
      return absl::DeadlineExceededError(absl::StrCat(
          "rendezvous keys [", absl::StrJoin(missing, ", "), more ? ", ..." : "",
          "] not set within ", timeout.count(), " ms (did every worker start?)"));
    }
  }
  std::vector<std::vector<char>> out;
  out.reserve(keys.size());
  for (const std::string& k : keys) out.push_back(s->values.at(k));
  return out;
}

}  // namespace mt::server
