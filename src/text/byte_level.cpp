#include "text/byte_level.h"

#include <array>

namespace attnhook::text {
namespace {

// Bytes that are printable Latin-1 map to themselves; the other 68 map to U+0100 + n in
// byte order (GPT-2's bytes_to_unicode).
std::array<char32_t, 256> make_table() {
  std::array<char32_t, 256> table{};
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) table[b] = printable[b] ? static_cast<char32_t>(b) : next++;
  return table;
}

const std::array<char32_t, 256>& table() {
  static const std::array<char32_t, 256> kTable = make_table();
  return kTable;
}

}  // namespace

char32_t byte_to_char(unsigned char byte) { return table()[byte]; }

void to_byte_level(NormalizedString& s) {
  const std::string& text = s.get();
  std::vector<CharChange> chars;
  chars.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t start = i;
    next_char(text, i);
    for (std::size_t b = start; b < i; ++b) {
      chars.emplace_back(byte_to_char(static_cast<unsigned char>(text[b])), b == start ? 0 : 1);
    }
  }
  s.transform(chars, 0);
}

}  // namespace attnhook::text
