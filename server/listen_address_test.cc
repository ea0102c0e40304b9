#include "server/listen_address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/server/fixtures.h"

namespace mt::server {
namespace {

using ::testing::HasSubstr;

TEST(ParseListenAddressTest, GoodForms) {
  absl::StatusOr<ListenAddress> a = ParseListenAddress("127.0.0.1:50051");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 50051);
  a = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 0);
  a = ParseListenAddress("localhost:65535");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->port, 65535);
  a = ParseListenAddress("unix:/tmp/mt.sock");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->unix_socket);
}

TEST(ParseListenAddressTest, BadFormsSayWhatIsRight) {
  for (const char* bad : {"not-an-address", "127.0.0.1", "127.0.0.1:", ":50051", "host:port",
                          "host:-1", "host:65536", "host:+80", "::1:80", "[::1:80", "unix:",
                          "a b:80", "h:123456"}) {
    absl::StatusOr<ListenAddress> a = ParseListenAddress(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(a.status().message(), HasSubstr("use HOST:PORT")) << bad;
  }
  // Long input is quoted only briefly.
  absl::StatusOr<ListenAddress> a = ParseListenAddress(std::string(10000, 'x'));
  ASSERT_FALSE(a.ok());
  EXPECT_LT(a.status().message().size(), 300u);
}

TEST(IsLoopbackTest, OnlyLocalAddresses) {
  for (const char* local : {"127.0.0.1:1", "127.8.9.10:1", "localhost:1", "LOCALHOST:1",
                            "[::1]:1", "unix:/tmp/s"}) {
    EXPECT_TRUE(IsLoopback(*ParseListenAddress(local))) << local;
  }
  for (const char* remote : {"0.0.0.0:1", "192.0.2.1:1", "[::]:1", "example.com:1",
                             "128.0.0.1:1", "[::ffff:127.0.0.1]:1"}) {
    EXPECT_FALSE(IsLoopback(*ParseListenAddress(remote))) << remote;
  }
}

TEST(ProbeBindTest, APortSomeoneListensOnIsInUse) {
  const mt::testing::HeldPort held = mt::testing::ListenOnLoopback();
  ASSERT_GE(held.fd, 0) << held.why;
  const int fd = held.fd;
  const std::string& listen = held.listen;
  absl::Status s = ProbeBind(*ParseListenAddress(listen), listen);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("cannot listen on " + listen + ": Address already in use"));
  close(fd);
  // Free again once the holder closed it; port 0 is always free.
  EXPECT_TRUE(ProbeBind(*ParseListenAddress(listen), listen).ok());
  EXPECT_TRUE(ProbeBind(*ParseListenAddress("127.0.0.1:0"), "127.0.0.1:0").ok());
}

}  // namespace
}  // namespace mt::server
