#include "client/terminal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace mt::client {
namespace {

TEST(ResolveTerminalWidth, KernelThenColumnsThen80) {
  EXPECT_EQ(ResolveTerminalWidth(40, "100"), 40);
  EXPECT_EQ(ResolveTerminalWidth(std::nullopt, "100"), 100);
  EXPECT_EQ(ResolveTerminalWidth(0, "53"), 53);  // a pty whose size was never set
  EXPECT_EQ(ResolveTerminalWidth(std::nullopt, nullptr), 80);
  EXPECT_EQ(ResolveTerminalWidth(std::nullopt, ""), 80);
  EXPECT_EQ(ResolveTerminalWidth(std::nullopt, "wide"), 80);
  EXPECT_EQ(ResolveTerminalWidth(std::nullopt, "-5"), 80);
  EXPECT_EQ(ResolveTerminalWidth(std::nullopt, "0"), 80);
}

TEST(TerminalWidth, APipeIsNoTerminal) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(IsSmartTerminal(fds[1]));
  ASSERT_EQ(::setenv("COLUMNS", "67", 1), 0);
  EXPECT_EQ(TerminalWidth(fds[1]), 67);
  ASSERT_EQ(::unsetenv("COLUMNS"), 0);
  EXPECT_EQ(TerminalWidth(fds[1]), 80);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace mt::client
