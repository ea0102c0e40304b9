// How wide the user's terminal is, so that one-line output (the progress bar) never wraps: a
// wrapped carriage-return line leaves a stale copy behind on every redraw.
#ifndef MT_CLIENT_TERMINAL_H_
#define MT_CLIENT_TERMINAL_H_

#include <optional>

namespace mt::client {

inline constexpr int kDefaultTerminalWidth = 80;

// The width to lay out for: the kernel's (TIOCGWINSZ) when it knows one (> 0), else $COLUMNS
// when it is a positive whole number, else 80. Pure, so that every fallback is tested.
int ResolveTerminalWidth(std::optional<int> ioctl_columns, const char* columns_env);

// ResolveTerminalWidth for the terminal on `fd` (asked again on every call: the window may have
// been resized since the last line).
int TerminalWidth(int fd);

// Whether `fd` is a terminal that understands "\r" and "\033[K" (not a pipe, file or TERM=dumb).
bool IsSmartTerminal(int fd);

}  // namespace mt::client

#endif  // MT_CLIENT_TERMINAL_H_
