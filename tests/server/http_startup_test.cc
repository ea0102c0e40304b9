// The //server binary with --http_listen: it serves the dashboard from its runfiles (found
// without --web_dir) and /metrics, and a bad, taken or unprotected remote address fails the
// start with one line, like every other start-up failure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include "tests/server/fixtures.h"
#include "tests/server/process.h"

namespace mt::testing {
namespace {

using ::testing::HasSubstr;

ProcessResult RunDaemon(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {Runfile("server/server"), "--listen=127.0.0.1:0",
                                   "--state_dir=" + FreshDir("http-start-state"),
                                   "--data_dir=" + FreshDir("http-start-data"), "--threads=1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunProcess(argv, {}, 120);
}

void ExpectOneLineFailure(const ProcessResult& r, const std::string& want) {
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line:\n" << r.err;
  EXPECT_THAT(r.err, HasSubstr("mt daemon: " + want));
}

TEST(HttpStartupTest, ServesTheDashboardFromItsRunfiles) {
  // A port the kernel picked, released just before the daemon takes it.
  HeldPort held = ListenOnLoopback();
  ASSERT_GE(held.fd, 0) << held.why;
  close(held.fd);
  const int port = std::stoi(held.listen.substr(held.listen.rfind(':') + 1));
  DaemonProcess d;
  ASSERT_TRUE(d.Start({"--listen=127.0.0.1:0", "--http_listen=" + held.listen,
                       "--state_dir=" + FreshDir("http-run-state"),
                       "--data_dir=" + FreshDir("http-run-data"), "--threads=1"}))
      << d.error();
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(30, 0);
  httplib::Result page = c.Get("/");
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("<title>mt dashboard</title>"));
  httplib::Result metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->body, HasSubstr("mt_jobs{state=\"running\"} 0\n"));
  EXPECT_EQ(d.Stop(), 0);
}

TEST(HttpStartupTest, TakenAddressFailsInOneLine) {
  HeldPort held = ListenOnLoopback();
  ASSERT_GE(held.fd, 0) << held.why;
  ProcessResult r = RunDaemon({"--http_listen=" + held.listen});
  close(held.fd);
  ExpectOneLineFailure(r, "cannot listen on " + held.listen);
  EXPECT_THAT(r.err, HasSubstr("--http_listen"));
}

TEST(HttpStartupTest, RemoteAddressWithoutTlsAndTokensIsRefused) {
  ExpectOneLineFailure(RunDaemon({"--http_listen=0.0.0.0:0"}),
                       "refusing to serve the dashboard and /metrics on 0.0.0.0:0 without TLS "
                       "and token auth");
  ExpectOneLineFailure(RunDaemon({"--http_listen=nonsense"}), "invalid --http_listen 'nonsense'");
}

}  // namespace
}  // namespace mt::testing
