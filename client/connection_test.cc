#include "client/connection.h"

#include <gtest/gtest.h>

namespace mt::client {
namespace {

TEST(IsLoopbackTargetTest, OnlyThisMachine) {
  for (const char* local : {"127.0.0.1:50051", "127.1.2.3:1", "localhost:50051",
                            "LocalHost:1", "[::1]:50051", "unix:/tmp/mt.sock"}) {
    EXPECT_TRUE(IsLoopbackTarget(local)) << local;
  }
  for (const char* remote : {"192.0.2.1:50051", "train.example.org:50051", "[::]:1",
                             "[2001:db8::1]:50051", "0.0.0.0:50051", "dns:///localhost:1",
                             "[::1:50051", "128.0.0.1:1"}) {
    EXPECT_FALSE(IsLoopbackTarget(remote)) << remote;
  }
}

TEST(TrimTokenTest, StripsTheNewlineOfATokenFile) {
  EXPECT_EQ(TrimToken("abc\n"), "abc");
  EXPECT_EQ(TrimToken("  abc \r\n"), "abc");
  EXPECT_EQ(TrimToken("\n"), "");
}

TEST(IsSendableTokenTest, PrintableAsciiWithoutSpacesOnly) {
  EXPECT_TRUE(IsSendableToken("0123abcdef"));
  EXPECT_TRUE(IsSendableToken("a.b_c-d~e+f/g="));
  for (const char* bad : {"abc\ndef", "abc def", "abc\tdef", "abc\x7f", "caf\xC3\xA9"}) {
    EXPECT_FALSE(IsSendableToken(bad)) << bad;
  }
}

}  // namespace
}  // namespace mt::client
