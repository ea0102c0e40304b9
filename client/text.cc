#include "client/text.h"

namespace mt::client {

size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Truncate(const std::string& s, size_t max_chars) {
  if (DisplayWidth(s) <= max_chars) return s;
  if (max_chars == 0) return "";
  size_t chars = 0;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == max_chars - 1) break;
      ++chars;
    }
  }
  std::string kept = s.substr(0, i);
  kept.erase(kept.find_last_not_of(' ') + 1);
  return kept + "\u2026";
}

}  // namespace mt::client
