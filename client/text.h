// Measuring and cutting terminal text: UTF-8 characters, not bytes, take the columns.
#ifndef MT_CLIENT_TEXT_H_
#define MT_CLIENT_TEXT_H_

#include <cstddef>
#include <string>

namespace mt::client {

// Display width of UTF-8 text: continuation bytes take no column (every character used here,
// "…" included, is one column wide).
size_t DisplayWidth(const std::string& s);

// Cuts to at most `max_chars` characters (never inside a UTF-8 sequence), ending in "…" when
// anything was cut ("a long…", not "a long …"). `max_chars` 0 gives "".
std::string Truncate(const std::string& s, size_t max_chars);

}  // namespace mt::client

#endif  // MT_CLIENT_TEXT_H_
