// Internal: the byte-level helpers of the JSON scanner (json_scanner.cpp, json_skim.cpp),
// inline so that the hot loops make no calls.
#pragma once

namespace attnhook::detail::json_chars {

inline bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Bytes that end a number or literal inside an array: ',' ']' and white space.
struct Delimiters {
  bool table[256] = {};
  constexpr Delimiters() {
    for (unsigned char c : {',', ']', ' ', '\n', '\r', '\t'}) table[c] = true;
  }
};
inline constexpr Delimiters kDelimiters;

inline const char* skip_spaces(const char* p, const char* end) {
  while (p < end && is_space(*p)) ++p;
  return p;
}

inline const char* skip_digits(const char* p, const char* end) {
  while (p < end && is_digit(*p)) ++p;
  return p;
}

// The end of the JSON number at `p`, or nullptr if its grammar is broken there.
inline const char* number_end(const char* p, const char* end) {
  if (p < end && *p == '-') ++p;
  if (p < end && *p == '0') {
    ++p;
  } else {
    const char* digits = skip_digits(p, end);
    if (digits == p) return nullptr;
    p = digits;
  }
  if (p < end && *p == '.') {
    const char* digits = skip_digits(++p, end);
    if (digits == p) return nullptr;
    p = digits;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    const char* digits = skip_digits(p, end);
    if (digits == p) return nullptr;
    p = digits;
  }
  return p;
}

}  // namespace attnhook::detail::json_chars
