#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace mt::server {
namespace {

constexpr absl::string_view kHashPrefix = "sha256:";

std::string Sha256Raw(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

bool ValidUser(absl::string_view user) {
  if (user.empty() || user.size() > 64) return false;
  for (char c : user) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' &&
        c != '@') {
      return false;
    }
  }
  return true;
}

bool ValidHex(absl::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat(
      why, ": send the header 'authorization: Bearer TOKEN' with a token from the daemon's "
           "tokens file (mt-client: set MT_TOKEN or pass --token-file FILE)"));
}

}  // namespace

std::string Sha256Hex(absl::string_view data) { return absl::BytesToHexString(Sha256Raw(data)); }

absl::StatusOr<TokenTable> TokenTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read tokens file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

absl::StatusOr<TokenTable> TokenTable::Parse(absl::string_view text, const std::string& source) {
  TokenTable table;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens file ", source, " line ", line_no, ": ", why,
                       "; expected 'USER [admin] sha256:HEX' (scripts/mt-token.sh prints one)"));
    };
    if (words.size() < 2 || words.size() > 3) return bad("wrong number of fields");
    Entry e;
    if (!ValidUser(words[0])) return bad("the user name must be 1-64 of A-Z a-z 0-9 . _ @ -");
    e.user = std::string(words[0]);
    if (words.size() == 3) {
      if (words[1] != "admin") return bad("the only role is 'admin'");
      e.admin = true;
    }
    absl::string_view hash = words.back();
    if (!absl::ConsumePrefix(&hash, kHashPrefix) || !ValidHex(hash)) {
      return bad("the token must be given as sha256: and 64 lowercase hex digits");
    }
    e.sha256 = absl::HexStringToBytes(hash);
    for (const Entry& other : table.entries_) {
      if (other.sha256 == e.sha256) return bad("this token hash appears on an earlier line too");
    }
    table.entries_.push_back(std::move(e));
  }
  if (table.entries_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokens file ", source, " has no tokens: add a line 'USER [admin] "
                                             "sha256:HEX' (scripts/mt-token.sh prints one)"));
  }
  return table;
}

absl::StatusOr<Caller> TokenTable::Authenticate(absl::string_view authorization) const {
  if (authorization.empty()) return Unauthenticated("no token");
  absl::string_view token = absl::StripAsciiWhitespace(authorization);
  if (token.size() < 7 || !absl::EqualsIgnoreCase(token.substr(0, 7), "bearer ")) {
    return Unauthenticated("the authorization header is not 'Bearer TOKEN'");
  }
  token = absl::StripLeadingAsciiWhitespace(token.substr(7));
  if (token.empty()) return Unauthenticated("empty token");
  const std::string digest = Sha256Raw(token);
  // Compares with every entry in constant time, so timing says nothing about near misses.
  const Entry* match = nullptr;
  for (const Entry& e : entries_) {
    if (CRYPTO_memcmp(e.sha256.data(), digest.data(), digest.size()) == 0) match = &e;
  }
  if (match == nullptr) return Unauthenticated("unknown token");
  return Caller{match->user, match->admin};
}

absl::Status CheckJobAccess(const Caller& caller, const v1::Job& job) {
  if (caller.MayAccess(job.owner())) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "job ", job.id(), " belongs to another user; only its owner or an admin may see or act "
      "on it"));
}

}  // namespace mt::server
