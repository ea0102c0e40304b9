#include "client/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"

namespace mt::client {

int ResolveTerminalWidth(std::optional<int> ioctl_columns, const char* columns_env) {
  if (ioctl_columns.has_value() && *ioctl_columns > 0) return *ioctl_columns;
  int columns = 0;
  if (columns_env != nullptr && absl::SimpleAtoi(columns_env, &columns) && columns > 0) {
    return columns;
  }
  return kDefaultTerminalWidth;
}

int TerminalWidth(int fd) {
  std::optional<int> kernel;
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) kernel = ws.ws_col;
  return ResolveTerminalWidth(kernel, std::getenv("COLUMNS"));
}

bool IsSmartTerminal(int fd) {
  if (!::isatty(fd)) return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::strcmp(term, "dumb") != 0;
}

}  // namespace mt::client
