#include "common/short_quote.h"

#include <gtest/gtest.h>

#include <string>

namespace mt {
namespace {

TEST(ShortQuote, ShortValuesAreUnchanged) {
  EXPECT_EQ(ShortQuote("mnist"), "mnist");
  EXPECT_EQ(ShortQuote(std::string(32, 'a')), std::string(32, 'a'));
}

TEST(ShortQuote, LongValuesKeepAPrefixAndAnEllipsis) {
  EXPECT_EQ(ShortQuote(std::string(10000, 'x')), std::string(32, 'x') + "\xE2\x80\xA6");
  EXPECT_EQ(ShortQuote("abcdef", 3), "abc\xE2\x80\xA6");
}

TEST(ShortQuote, NeverSplitsAUtf8Character) {
  // "é" is two bytes (C3 A9); a cut after byte 3 of "aéé" would split the second one.
  EXPECT_EQ(ShortQuote("a\xC3\xA9\xC3\xA9", 4), "a\xC3\xA9\xE2\x80\xA6");
}

TEST(ShortQuote, ControlCharactersCannotBreakALine) {
  EXPECT_EQ(ShortQuote("a\nb\x1b[2Jc"), "a?b?[2Jc");
}

}  // namespace
}  // namespace mt
