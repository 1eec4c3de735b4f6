// Internal: UTF-8 checks and conversions, and input text made safe to print in a message.
// Attention files are untrusted: a token may hold terminal escape sequences, bytes that are
// not UTF-8 or a megabyte of text, and messages quote them through printable().
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace attnhook::detail {

// `text` as it may appear in a message: at most `max_characters` characters (then "..."
// and the byte count), control and invisible characters written as \n, \t, \xNN or \uNNNN
// (C0/C1 controls, DEL, line separators, bidirectional overrides, BOM), and bytes that are
// not UTF-8 as \xNN.
std::string printable(std::string_view text, size_t max_characters = 80);

// Decodes the code point at `at` and advances past it; false (and `at` advanced by one
// byte) on a byte that does not start a valid UTF-8 sequence: truncated, overlong,
// a surrogate, or above U+10FFFF.
bool next_code_point(std::string_view text, size_t& at, char32_t& code);

// The offset of the first byte that is not valid UTF-8, or none.
std::optional<size_t> invalid_utf8_at(std::string_view text);

// A Unicode scalar value: at most U+10FFFF and not a surrogate (U+D800..U+DFFF).
inline bool is_scalar_value(char32_t code) { return code <= 0x10ffff && (code < 0xd800 || code > 0xdfff); }

void append_utf8(std::string& out, char32_t code);

// UTF-8 to code points; each byte that is not valid UTF-8 becomes U+FFFD, as the JSON
// writer writes it.
std::u32string to_utf32_replacing(std::string_view text);

}  // namespace attnhook::detail
