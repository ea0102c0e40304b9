#include "common/short_quote.h"

namespace mt {

std::string ShortQuote(absl::string_view s, size_t max_bytes) {
  const bool cut = s.size() > max_bytes;
  size_t n = cut ? max_bytes : s.size();
  // Back up over UTF-8 continuation bytes (10xxxxxx) so a character is never split.
  if (cut) {
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  }
  std::string out;
  out.reserve(n + 3);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
  }
  if (cut) out += "\xE2\x80\xA6";  // U+2026 HORIZONTAL ELLIPSIS
  return out;
}

}  // namespace mt
