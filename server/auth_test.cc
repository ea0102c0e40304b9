#include "server/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mt::server {
namespace {

using ::testing::HasSubstr;

// Independent reference: FIPS 180-2's example and the empty string.
TEST(Sha256HexTest, KnownDigests) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TokenTable Table() {
  absl::StatusOr<TokenTable> t = TokenTable::Parse(
      "# users\n"
      "alice sha256:" + Sha256Hex("alice-token") + "\n"
      "\n"
      "alice sha256:" + Sha256Hex("alice-laptop") + "  # a second token\n"
      "root admin sha256:" + Sha256Hex("root-token") + "\n",
      "tokens");
  EXPECT_TRUE(t.ok()) << t.status();
  return *t;
}

TEST(TokenTableTest, AuthenticatesEachTokenAsItsUser) {
  TokenTable t = Table();
  EXPECT_EQ(t.size(), 3u);
  absl::StatusOr<Caller> a = t.Authenticate("Bearer alice-token");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->user, "alice");
  EXPECT_FALSE(a->admin);
  absl::StatusOr<Caller> a2 = t.Authenticate("bearer alice-laptop");
  ASSERT_TRUE(a2.ok()) << a2.status();
  EXPECT_EQ(a2->user, "alice");
  absl::StatusOr<Caller> r = t.Authenticate("Bearer root-token");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->user, "root");
  EXPECT_TRUE(r->admin);
}

TEST(TokenTableTest, MissingMalformedOrUnknownTokensAreUnauthenticated) {
  TokenTable t = Table();
  for (const char* header : {"", "alice-token", "Basic YWxpY2U6eA==", "Bearer ", "Bearer wrong",
                             "Bearer alice-token2"}) {
    absl::StatusOr<Caller> c = t.Authenticate(header);
    ASSERT_FALSE(c.ok()) << header;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated) << header;
    EXPECT_THAT(c.status().message(), HasSubstr("Bearer TOKEN")) << header;
  }
  // The stored hash is not itself a token.
  EXPECT_FALSE(t.Authenticate("Bearer " + Sha256Hex("alice-token")).ok());
}

TEST(TokenTableTest, BadFilesNameTheLine) {
  const std::string h = Sha256Hex("x");
  struct Case {
    std::string text;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"alice\n", "line 1: wrong number of fields"},
           {"# c\nalice " + h + "\n", "line 2: the token must be given as sha256:"},
           {"alice sha256:" + h.substr(1) + "\n", "line 1: the token must be given"},
           {"alice sha256:" + std::string(64, 'G') + "\n", "line 1: the token must be given"},
           {"alice boss sha256:" + h + "\n", "line 1: the only role is 'admin'"},
           {"al ice sha256:" + h + "\n", "line 1: the only role"},
           {"al/ice sha256:" + h + "\n", "line 1: the user name"},
           {"a sha256:" + h + "\nb sha256:" + h + "\n", "line 2: this token hash appears"},
           {"# nothing\n", "has no tokens"},
       }) {
    absl::StatusOr<TokenTable> t = TokenTable::Parse(c.text, "F");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("tokens file F"));
    EXPECT_THAT(t.status().message(), HasSubstr(c.want)) << c.text;
  }
  EXPECT_EQ(TokenTable::Load("/nonexistent/tokens").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CheckJobAccessTest, OwnerAndAdminOnly) {
  v1::Job job;
  job.set_id("job-7");
  job.set_owner("alice");
  EXPECT_TRUE(CheckJobAccess(Caller{"alice", false}, job).ok());
  EXPECT_TRUE(CheckJobAccess(Caller{"root", true}, job).ok());
  absl::Status s = CheckJobAccess(Caller{"bob", false}, job);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("job-7 belongs to another user"));
  // A job from before auth (no owner) is the admin's alone once auth is on.
  v1::Job old;
  old.set_id("job-1");
  EXPECT_EQ(CheckJobAccess(Caller{"bob", false}, old).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckJobAccess(Caller{"root", true}, old).ok());
  EXPECT_TRUE(CheckJobAccess(Caller::Local(), old).ok());
}

}  // namespace
}  // namespace mt::server
