// The real //server binary failing to start: every case prints exactly one line
// `mt daemon: REASON` on stderr and exits with status 1 (no crash), and the address a daemon
// serves is its alone (no SO_REUSEPORT sharing).
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/server/fixtures.h"
#include "tests/server/process.h"

namespace mt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The daemon with `flags` (plus a data dir and one thread unless given), run to its exit.
ProcessResult RunDaemon(std::vector<std::string> flags) {
  flags.insert(flags.begin(), Runfile("server/server"));
  flags.push_back("--data_dir=" + FreshDir("unused-data"));
  return RunProcess(flags, {}, 120);
}

// Exit status 1, nothing on stdout, and stderr exactly one line: "mt daemon: " + a reason
// containing `want`.
void ExpectOneLineFailure(const ProcessResult& r, const std::string& want) {
  ASSERT_TRUE(r.exited) << "killed by signal " << r.signal << "; stderr:\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("mt daemon: "));
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n');
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line:\n" << r.err;
  EXPECT_THAT(r.err, HasSubstr(want));
}

TEST(StartupTest, StateDirInUseByAnotherDaemon) {
  const std::string state = FreshDir("inuse-state");
  DaemonProcess first;
  ASSERT_TRUE(first.Start({"--listen=127.0.0.1:0", "--state_dir=" + state,
                           "--data_dir=" + FreshDir("inuse-data"), "--threads=1"}))
      << first.error();
  ProcessResult second = RunDaemon({"--listen=127.0.0.1:0", "--state_dir=" + state});
  ExpectOneLineFailure(second, "mt daemon: state directory " + state +
                                   " is in use by another mt daemon (pid " +
                                   std::to_string(first.pid()) + ")");
  EXPECT_EQ(first.Stop(), 0) << "the first daemon was not disturbed";
}

TEST(StartupTest, SecondDaemonOnTheSameAddressFailsAndTheAddressIsExclusive) {
  DaemonProcess first;
  ASSERT_TRUE(first.Start({"--listen=127.0.0.1:0", "--state_dir=" + FreshDir("addr-a"),
                           "--data_dir=" + FreshDir("addr-data"), "--threads=1"}))
      << first.error();
  const std::string listen = "127.0.0.1:" + std::to_string(first.port());
  const std::string state_b = FreshDir("addr-b");
  ProcessResult second = RunDaemon({"--listen=" + listen, "--state_dir=" + state_b});
  ExpectOneLineFailure(second, "cannot listen on " + listen + ": Address already in use");
  EXPECT_FALSE(std::filesystem::exists(state_b + "/mt.db")) << "refused before opening state";

  // The first daemon's socket does not allow SO_REUSEPORT sharing (gRPC's default would):
  // even a socket asking for it cannot bind the address.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const int one = 1;
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(first.port()));
  EXPECT_NE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(errno, EADDRINUSE);
  close(fd);
  EXPECT_EQ(first.Stop(), 0);
}

TEST(StartupTest, PortHeldByAnotherProgram) {
  const mt::testing::HeldPort held = mt::testing::ListenOnLoopback();
  ASSERT_GE(held.fd, 0) << held.why;
  const int fd = held.fd;
  const std::string& listen = held.listen;
  ProcessResult r = RunDaemon({"--listen=" + listen, "--state_dir=" + FreshDir("held")});
  ExpectOneLineFailure(r, "mt daemon: cannot listen on " + listen + ": Address already in use");
  close(fd);
}

TEST(StartupTest, NotAnAddress) {
  ProcessResult r = RunDaemon({"--listen=not-an-address", "--state_dir=" + FreshDir("naa")});
  ExpectOneLineFailure(r, "mt daemon: invalid --listen 'not-an-address': no port; use HOST:PORT");
}

TEST(StartupTest, NegativeThreads) {
  ProcessResult r =
      RunDaemon({"--listen=127.0.0.1:0", "--threads=-1", "--state_dir=" + FreshDir("thr")});
  ExpectOneLineFailure(r, "mt daemon: --threads must be >= 0 (0 = every core), got -1");
}

TEST(StartupTest, ZeroRunningPerDevice) {
  ProcessResult r = RunDaemon(
      {"--listen=127.0.0.1:0", "--max_running_per_device=0", "--state_dir=" + FreshDir("mrpd")});
  ExpectOneLineFailure(r, "mt daemon: --max_running_per_device must be >= 1, got 0");
}

TEST(StartupTest, UncreatableStateDir) {
  const std::string file = FreshDir("uncreatable") + "/a-file";
  std::ofstream(file) << "x";
  ProcessResult r = RunDaemon({"--listen=127.0.0.1:0", "--state_dir=" + file + "/state"});
  ExpectOneLineFailure(r, "mt daemon: cannot create state directory " + file +
                              "/state/jobs: Not a directory");
}

TEST(StartupTest, ReadOnlyStateDir) {
  const std::string dir = FreshDir("readonly");
  std::string want;
  bool mounted = false;
  if (geteuid() != 0) {
    ASSERT_EQ(chmod(dir.c_str(), 0555), 0);
    want = "/jobs: Permission denied";
  } else {
    // Root ignores directory permissions; a read-only file system stops it.
    if (mount("tmpfs", dir.c_str(), "tmpfs", MS_RDONLY, "size=64k") != 0) {
      GTEST_SKIP() << "runs as root, which ignores directory permissions, and cannot mount a "
                      "read-only tmpfs here (" << std::strerror(errno)
                   << "); UncreatableStateDir covers the path";
    }
    mounted = true;
    want = "/jobs: Read-only file system";
  }
  ProcessResult r = RunDaemon({"--listen=127.0.0.1:0", "--state_dir=" + dir});
  if (mounted) {
    umount(dir.c_str());
  } else {
    chmod(dir.c_str(), 0755);
  }
  ExpectOneLineFailure(r, "mt daemon: cannot create state directory " + dir + want);
}

TEST(StartupTest, CorruptDatabase) {
  const std::string dir = FreshDir("corrupt");
  {
    std::ofstream db(dir + "/mt.db", std::ios::binary);
    for (int i = 0; i < 512; ++i) db << "this is not an SQLite database\n";
  }
  ProcessResult r = RunDaemon({"--listen=127.0.0.1:0", "--state_dir=" + dir});
  ExpectOneLineFailure(r, "mt daemon: database " + dir + "/mt.db: ");
  EXPECT_THAT(r.err, HasSubstr("not an SQLite database"));
}

TEST(StartupTest, NonLoopbackWithoutTlsAndTokensIsRefusedUnlessInsecure) {
  const std::string state = FreshDir("nonlo");
  ProcessResult r = RunDaemon({"--listen=0.0.0.0:0", "--state_dir=" + state});
  ExpectOneLineFailure(r, "mt daemon: refusing to listen on 0.0.0.0:0 without TLS and token "
                          "auth (neither is set)");
  EXPECT_THAT(r.err, HasSubstr("--insecure"));
  EXPECT_FALSE(std::filesystem::exists(state + "/mt.db")) << "refused before opening state";

  DaemonProcess insecure;
  ASSERT_TRUE(insecure.Start({"--listen=0.0.0.0:0", "--insecure", "--state_dir=" +
                              FreshDir("nonlo-insecure"), "--data_dir=" + FreshDir("nd"),
                              "--threads=1"}))
      << insecure.error();
  EXPECT_GT(insecure.port(), 0);
  EXPECT_EQ(insecure.Stop(), 0);
}

TEST(StartupTest, BadTlsAndTokenFiles) {
  const std::string dir = FreshDir("badfiles");
  std::ofstream(dir + "/not.pem") << "not a certificate\n";
  std::ofstream(dir + "/tokens") << "alice\n";
  ExpectOneLineFailure(
      RunDaemon({"--listen=127.0.0.1:0", "--state_dir=" + dir + "/s", "--tls_cert=" + dir +
                 "/missing.pem", "--tls_key=" + dir + "/not.pem"}),
      "mt daemon: cannot read --tls_cert file " + dir + "/missing.pem");
  ExpectOneLineFailure(
      RunDaemon({"--listen=127.0.0.1:0", "--state_dir=" + dir + "/s", "--tls_cert=" + dir +
                 "/not.pem"}),
      "mt daemon: TLS needs both --tls_cert and --tls_key");
  ExpectOneLineFailure(
      RunDaemon({"--listen=127.0.0.1:0", "--state_dir=" + dir + "/s", "--tls_cert=" + dir +
                 "/not.pem", "--tls_key=" + dir + "/not.pem"}),
      "mt daemon: --tls_cert " + dir + "/not.pem holds no PEM certificate");
  ExpectOneLineFailure(
      RunDaemon({"--listen=127.0.0.1:0", "--state_dir=" + dir + "/s", "--tokens_file=" + dir +
                 "/tokens"}),
      "mt daemon: tokens file " + dir + "/tokens line 1: wrong number of fields");
}

}  // namespace
}  // namespace mt::testing
