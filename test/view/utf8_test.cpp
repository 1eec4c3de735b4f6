// printable(): what a message may show of untrusted text; UTF-8 validation.
#include <gtest/gtest.h>

#include "utf8.h"

namespace {

using attnhook::detail::invalid_utf8_at;
using attnhook::detail::printable;

TEST(Printable, EscapesWhatATerminalWouldActOn) {
  EXPECT_EQ(printable("plain é 😀"), "plain é 😀");
  EXPECT_EQ(printable("\x1b[31mred\x07"), "\\x1b[31mred\\x07");
  EXPECT_EQ(printable("a\nb\tc\r"), "a\\nb\\tc\\r");
  EXPECT_EQ(printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(printable("\xc2\x9b" "2J"), "\\u009b2J");                   // C1 control sequence introducer
  EXPECT_EQ(printable("abc\xe2\x80\xae" "fed"), "abc\\u202efed");       // right-to-left override
  EXPECT_EQ(printable("\xef\xbb\xbf" "bom"), "\\ufeffbom");
  EXPECT_EQ(printable("bad\xff\xfe"), "bad\\xff\\xfe");
  EXPECT_EQ(printable("\xe2\x82"), "\\xe2\\x82");                       // truncated sequence
}

TEST(Printable, CutsLongTextAndGivesItsSize) {
  EXPECT_EQ(printable(std::string(10, 'a'), 10), std::string(10, 'a'));
  EXPECT_EQ(printable(std::string(200000, '['), 5), "[[[[[... (200000 bytes)");
  EXPECT_EQ(printable("ééé", 2), "éé... (6 bytes)");  // counts characters, not bytes
}

TEST(Utf8, FindsTheFirstInvalidByte) {
  EXPECT_EQ(invalid_utf8_at("ascii only, long enough for the 8-byte path"), std::nullopt);
  EXPECT_EQ(invalid_utf8_at("é😀€"), std::nullopt);
  EXPECT_EQ(invalid_utf8_at("ab\xc0\x80"), 2u);              // overlong NUL
  EXPECT_EQ(invalid_utf8_at("12345678\xed\xa0\x80"), 8u);    // a surrogate, U+D800
  EXPECT_EQ(invalid_utf8_at("\xf4\x90\x80\x80"), 0u);        // above U+10FFFF
  EXPECT_EQ(invalid_utf8_at("ok\xe2\x82"), 2u);              // truncated
  EXPECT_EQ(invalid_utf8_at("\x80"), 0u);                    // a lone continuation byte
}

}  // namespace
