#include "engine/dist/store_factory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace mt::dist {
namespace {

TEST(StoreFactory, TellsNetworkAddressesFromFolders) {
  EXPECT_TRUE(IsNetworkAddress("127.0.0.1:50051"));
  EXPECT_TRUE(IsNetworkAddress("coordinator:7000"));
  EXPECT_TRUE(IsNetworkAddress("[::1]:7000"));
  EXPECT_FALSE(IsNetworkAddress("/tmp/rdv"));
  EXPECT_FALSE(IsNetworkAddress("./a:1"));
  EXPECT_FALSE(IsNetworkAddress("rdv"));
  EXPECT_FALSE(IsNetworkAddress("host:"));
  EXPECT_FALSE(IsNetworkAddress("host:12x"));
}

TEST(StoreFactory, AFolderIsAFileStoreSharedBetweenOpenings) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/store_factory";
  auto a = OpenRendezvousStore(dir);
  auto b = OpenRendezvousStore(dir);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Set("k", {'h', 'i'}).ok());
  auto v = (*b)->Get("k", std::chrono::seconds(10));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, (std::vector<char>{'h', 'i'}));
}

TEST(StoreFactory, NetworkAddressWithoutFactoryNamesTheFix) {
  auto s = OpenRendezvousStore("127.0.0.1:1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("mt-worker"), std::string::npos) << s.status();
  EXPECT_FALSE(OpenRendezvousStore("").ok());
}

TEST(StoreFactory, ARegisteredFactoryServesNetworkAddresses) {
  std::string seen;
  RegisterRemoteStoreFactory(
      [&](const std::string& address) -> absl::StatusOr<std::unique_ptr<RendezvousStore>> {
        seen = address;
        return absl::UnavailableError("test factory");
      });
  auto s = OpenRendezvousStore("host:9");
  EXPECT_EQ(s.status().message(), "test factory");
  EXPECT_EQ(seen, "host:9");
  RegisterRemoteStoreFactory(nullptr);
}

}  // namespace
}  // namespace mt::dist
