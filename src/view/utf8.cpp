#include "utf8.h"

#include <fmt/format.h>

namespace attnhook::detail {

bool next_code_point(std::string_view text, size_t& at, char32_t& code) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) {
    code = lead;
    ++at;
    return true;
  }
  int length;
  char32_t minimum;
  if ((lead & 0xe0) == 0xc0) {
    length = 2, minimum = 0x80, code = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3, minimum = 0x800, code = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4, minimum = 0x10000, code = lead & 0x07;
  } else {
    ++at;
    return false;
  }
  if (text.size() - at < static_cast<size_t>(length)) {
    ++at;
    return false;
  }
  for (int k = 1; k < length; ++k) {
    if ((byte(at + k) & 0xc0) != 0x80) {
      ++at;
      return false;
    }
    code = (code << 6) | (byte(at + k) & 0x3f);
  }
  if (code < minimum || !is_scalar_value(code)) {
    ++at;
    return false;
  }
  at += length;
  return true;
}

std::optional<size_t> invalid_utf8_at(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    // ASCII runs are the common case: 8 bytes at a time.
    while (text.size() - at >= 8) {
      uint64_t word;
      __builtin_memcpy(&word, text.data() + at, 8);
      if (word & 0x8080808080808080ull) break;
      at += 8;
    }
    if (at >= text.size()) break;
    const size_t start = at;
    char32_t code;
    if (!next_code_point(text, at, code)) return start;
  }
  return std::nullopt;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out += {static_cast<char>(0xc0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3f))};
  } else if (c < 0x10000) {
    out += {static_cast<char>(0xe0 | (c >> 12)), static_cast<char>(0x80 | ((c >> 6) & 0x3f)),
            static_cast<char>(0x80 | (c & 0x3f))};
  } else {
    out += {static_cast<char>(0xf0 | (c >> 18)), static_cast<char>(0x80 | ((c >> 12) & 0x3f)),
            static_cast<char>(0x80 | ((c >> 6) & 0x3f)), static_cast<char>(0x80 | (c & 0x3f))};
  }
}

std::u32string to_utf32_replacing(std::string_view text) {
  std::u32string out;
  for (size_t at = 0; at < text.size();) {
    char32_t code;
    out.push_back(next_code_point(text, at, code) ? code : U'\ufffd');
  }
  return out;
}

namespace {

// Characters that print nothing visible or move the cursor: a message shows them escaped.
bool invisible(char32_t c) {
  return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x200e || c == 0x200f ||
         (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

}  // namespace

std::string printable(std::string_view text, size_t max_characters) {
  std::string out;
  size_t characters = 0, at = 0;
  while (at < text.size() && characters < max_characters) {
    const size_t start = at;
    char32_t code;
    if (!next_code_point(text, at, code)) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[start]));
    } else if (code == '\n') {
      out += "\\n";
    } else if (code == '\t') {
      out += "\\t";
    } else if (code == '\r') {
      out += "\\r";
    } else if (code < 0x80 && invisible(code)) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(code));
    } else if (invisible(code)) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(code));
    } else {
      out.append(text.substr(start, at - start));
    }
    ++characters;
  }
  if (at < text.size()) out += fmt::format("... ({} bytes)", text.size());
  return out;
}

}  // namespace attnhook::detail
