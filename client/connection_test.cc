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

TEST(RpcErrorTextTest, SaysWhatToCheckForTheCodesUsersMeet) {
  const std::string server = "127.0.0.1:50051";
  EXPECT_EQ(RpcErrorText(grpc::Status(grpc::StatusCode::UNAVAILABLE, "refused"), server, false),
            "cannot reach the mt daemon at 127.0.0.1:50051 (is `bazel run //server` running? if "
            "it serves TLS, pass --tls-ca CA.pem): refused");
  EXPECT_EQ(RpcErrorText(grpc::Status(grpc::StatusCode::UNAVAILABLE, ""), server, true),
            "cannot reach the mt daemon at 127.0.0.1:50051 over TLS (is `bazel run //server` "
            "running with --tls_cert, and is --tls-ca the CA that signed it?)");
  EXPECT_EQ(RpcErrorText(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "x"), server, false),
            "the mt daemon at 127.0.0.1:50051 did not answer in time");
  EXPECT_EQ(RpcErrorText(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no"), server, false),
            "the mt daemon at 127.0.0.1:50051 does not implement this call: no");
  EXPECT_EQ(RpcErrorText(grpc::Status(grpc::StatusCode::NOT_FOUND, "no job 7"), server, false),
            "no job 7");
  EXPECT_EQ(RpcErrorText(grpc::Status(grpc::StatusCode::INTERNAL, ""), server, false),
            "gRPC error 13");
}

}  // namespace
}  // namespace mt::client
