#include "json_scanner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "attnhook/error.h"
#include "json_chars.h"
#include "utf8.h"

namespace attnhook::detail {
namespace {

using namespace json_chars;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One byte as a message shows it: 'x', or 0xNN when it is not printable ASCII.
std::string byte_text(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", byte);
}

}  // namespace

JsonScanner::JsonScanner(std::string_view text, std::string path, int max_depth)
    : text_(text), path_(std::move(path)), max_depth_(max_depth) {}

void JsonScanner::seek(size_t at, int depth) {
  at_ = at;
  first_.clear();
  base_depth_ = depth;
}

void JsonScanner::skip_space() {
  at_ = skip_spaces(text_.data() + at_, text_.data() + text_.size()) - text_.data();
}

bool JsonScanner::at_end() {
  skip_space();
  return at_ == text_.size();
}

JsonScanner::Kind JsonScanner::next_kind() {
  skip_space();
  if (at_ == text_.size()) return Kind::kEnd;
  switch (text_[at_]) {
    case '{': return Kind::kObject;
    case '[': return Kind::kArray;
    case '"': return Kind::kString;
    case 't':
    case 'f': return Kind::kBool;
    case 'n': return Kind::kNull;
    default: return text_[at_] == '-' || is_digit(text_[at_]) ? Kind::kNumber : Kind::kInvalid;
  }
}

std::string JsonScanner::location(size_t at) const {
  at = std::min(at, text_.size());
  size_t line = 1, line_start = 0;
  for (const char* p = text_.data(); (p = static_cast<const char*>(std::memchr(p, '\n', text_.data() + at - p)));) {
    ++line;
    line_start = ++p - text_.data();
  }
  return fmt::format("line {}, column {}", line, at - line_start + 1);
}

void JsonScanner::syntax_error(const std::string& reason, size_t at) const {
  throw Error(fmt::format("attention file '{}' is not valid JSON: parse error at {}: {}", printable(path_, 4096),
                          location(at), reason));
}

void JsonScanner::unexpected(size_t at, const char* expected) const {
  if (at >= text_.size()) syntax_error(fmt::format("unexpected end of file; expected {}", expected), at);
  syntax_error(fmt::format("unexpected {}; expected {}", byte_text(text_[at]), expected), at);
}

void JsonScanner::enter(size_t at) {
  if (base_depth_ + static_cast<int>(first_.size()) >= max_depth_) {
    syntax_error(fmt::format("arrays and objects nested deeper than {} levels (the limit)", max_depth_), at);
  }
  first_.push_back(true);
}

void JsonScanner::begin_object() {
  skip_space();
  if (at_ >= text_.size() || text_[at_] != '{') unexpected(at_, "an object");
  enter(at_);
  ++at_;
}

void JsonScanner::begin_array() {
  skip_space();
  if (at_ >= text_.size() || text_[at_] != '[') unexpected(at_, "an array");
  enter(at_);
  ++at_;
}

bool JsonScanner::next_member(std::string& key) {
  skip_space();
  if (first_.back()) {
    if (at_ < text_.size() && text_[at_] == '}') {
      ++at_, first_.pop_back();
      return false;
    }
    first_.back() = false;
  } else if (at_ < text_.size() && text_[at_] == ',') {
    ++at_;
    skip_space();
  } else if (at_ < text_.size() && text_[at_] == '}') {
    ++at_, first_.pop_back();
    return false;
  } else {
    unexpected(at_, "',' or '}' after an object member");
  }
  if (at_ >= text_.size() || text_[at_] != '"') unexpected(at_, "a string key");
  key.clear();
  at_ = scan_string(at_, &key);
  skip_space();
  if (at_ >= text_.size() || text_[at_] != ':') unexpected(at_, "':' after an object key");
  ++at_;
  return true;
}

bool JsonScanner::next_element() {
  skip_space();
  if (first_.back()) {
    if (at_ < text_.size() && text_[at_] == ']') {
      ++at_, first_.pop_back();
      return false;
    }
    first_.back() = false;
    return true;
  }
  if (at_ < text_.size() && text_[at_] == ',') {
    ++at_;
    return true;
  }
  if (at_ < text_.size() && text_[at_] == ']') {
    ++at_, first_.pop_back();
    return false;
  }
  unexpected(at_, "',' or ']' after an array element");
}

std::string JsonScanner::read_string() {
  skip_space();
  if (at_ >= text_.size() || text_[at_] != '"') unexpected(at_, "a string");
  std::string out;
  at_ = scan_string(at_, &out);
  return out;
}

std::string_view JsonScanner::read_number_text() {
  skip_space();
  const size_t start = at_;
  at_ = scan_number(at_);
  return text_.substr(start, at_ - start);
}

bool JsonScanner::read_null() {
  if (next_kind() != Kind::kNull) return false;
  at_ = scan_literal(at_);
  return true;
}

size_t JsonScanner::scan_number(size_t at) const {
  const char *data = text_.data(), *end = data + text_.size();
  if (const char* p = number_end(data + at, end)) return p - data;
  // Broken: find where, for the message.
  const char* p = data + at;
  if (p < end && *p == '-') ++p;
  if (p < end && *p == '0') {
    ++p;
  } else {
    if (p >= end || !is_digit(*p)) unexpected(p - data, "a digit in a number");
    p = skip_digits(p, end);
  }
  if (p < end && *p == '.') {
    if (++p >= end || !is_digit(*p)) unexpected(p - data, "a digit in a number");
    p = skip_digits(p, end);
  }
  ++p;  // 'e' or 'E'
  if (p < end && (*p == '+' || *p == '-')) ++p;
  unexpected(p - data, "a digit in a number");
}

size_t JsonScanner::scan_literal(size_t at) const {
  for (const char* word : {"true", "false", "null"}) {
    const size_t length = std::strlen(word);
    if (text_.compare(at, length, word) == 0) return at + length;
  }
  unexpected(at, "a value");
}

size_t JsonScanner::scan_string(size_t at, std::string* out) const {
  const size_t size = text_.size(), start = at;
  const char* data = text_.data();
  ++at;  // the opening quote
  for (;;) {
    size_t run = at;  // plain printable ASCII, the common case
    while (run < size) {
      const auto c = static_cast<unsigned char>(data[run]);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
      ++run;
    }
    if (out) out->append(data + at, run - at);
    at = run;
    if (at >= size) syntax_error("unterminated string", start);
    const auto c = static_cast<unsigned char>(data[at]);
    if (c == '"') return at + 1;
    if (c < 0x20) syntax_error(fmt::format("control character U+{:04X} in a string must be escaped", c), at);
    if (c >= 0x80) {
      size_t next = at;
      char32_t code;
      if (!next_code_point(text_, next, code)) syntax_error(fmt::format("byte 0x{:02x} in a string is not UTF-8", c), at);
      if (out) out->append(data + at, next - at);
      at = next;
      continue;
    }
    // An escape.
    if (at + 1 >= size) syntax_error("unterminated string", start);
    const char escape = data[at + 1];
    const char* simple = std::strchr("\"\\/bfnrt", escape);
    if (escape != 0 && simple) {
      if (out) out->push_back("\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"]);
      at += 2;
      continue;
    }
    if (escape != 'u') syntax_error(fmt::format("invalid escape \\{} in a string", printable(text_.substr(at + 1, 1))), at);
    auto hex4 = [&](size_t from) {
      int value = 0;
      for (size_t k = from; k < from + 4; ++k) {
        const int digit = k < size ? hex_value(data[k]) : -1;
        if (digit < 0) syntax_error("\\u must be followed by four hexadecimal digits", from - 2);
        value = value * 16 + digit;
      }
      return static_cast<char32_t>(value);
    };
    char32_t code = hex4(at + 2);
    const size_t escape_at = at;
    at += 6;
    if (code >= 0xdc00 && code <= 0xdfff) syntax_error(fmt::format("\\u{:04x} is a lone surrogate", unsigned(code)), escape_at);
    if (code >= 0xd800 && code <= 0xdbff) {
      if (at + 1 >= size || data[at] != '\\' || data[at + 1] != 'u')
        syntax_error(fmt::format("\\u{:04x} is a lone surrogate", unsigned(code)), escape_at);
      const char32_t low = hex4(at + 2);
      if (low < 0xdc00 || low > 0xdfff) syntax_error(fmt::format("\\u{:04x} is a lone surrogate", unsigned(code)), escape_at);
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      at += 6;
    }
    if (out) append_utf8(*out, code);
  }
}

void JsonScanner::skip_value() {
  // Containers opened by this call, innermost last: '{' or '['. No recursion.
  std::string open;
  const int depth = base_depth_ + static_cast<int>(first_.size());
  for (;;) {
    // A value starts here.
    skip_space();
    if (at_ >= text_.size()) unexpected(at_, "a value");
    const char c = text_[at_];
    if (c == '{' || c == '[') {
      if (depth + static_cast<int>(open.size()) >= max_depth_) {
        syntax_error(fmt::format("arrays and objects nested deeper than {} levels (the limit)", max_depth_), at_);
      }
      open.push_back(c);
      ++at_;
      skip_space();
      if (at_ < text_.size() && text_[at_] == (c == '{' ? '}' : ']')) {
        ++at_;
        open.pop_back();
      } else if (c == '{') {
        if (at_ >= text_.size() || text_[at_] != '"') unexpected(at_, "a string key");
        at_ = scan_string(at_, nullptr);
        skip_space();
        if (at_ >= text_.size() || text_[at_] != ':') unexpected(at_, "':' after an object key");
        ++at_;
        continue;
      } else {
        continue;
      }
    } else if (c == '"') {
      at_ = scan_string(at_, nullptr);
    } else if (c == '-' || is_digit(c)) {
      at_ = scan_number(at_);
      if (!open.empty() && open.back() == '[') {
        // The common case, an array of numbers: "n, n, n" without leaving this loop.
        const char *data = text_.data(), *end = data + text_.size(), *p = data + at_;
        for (;;) {
          const char* q = skip_spaces(p, end);
          if (q >= end || *q != ',') break;
          q = skip_spaces(q + 1, end);
          if (q >= end || !(*q == '-' || is_digit(*q))) break;
          const char* after = number_end(q, end);
          if (!after) break;  // scan_number below reports it
          p = after;
        }
        at_ = p - data;
      }
    } else {
      at_ = scan_literal(at_);
    }
    progress();
    // After a value: close containers, or go on to the next element or member.
    for (;;) {
      if (open.empty()) return;
      skip_space();
      const char close = open.back() == '{' ? '}' : ']';
      if (at_ < text_.size() && text_[at_] == close) {
        ++at_;
        open.pop_back();
        continue;
      }
      if (at_ >= text_.size() || text_[at_] != ',') {
        unexpected(at_, open.back() == '{' ? "',' or '}' after an object member" : "',' or ']' after an array element");
      }
      ++at_;
      if (open.back() == '{') {
        skip_space();
        if (at_ >= text_.size() || text_[at_] != '"') unexpected(at_, "a string key");
        at_ = scan_string(at_, nullptr);
        skip_space();
        if (at_ >= text_.size() || text_[at_] != ':') unexpected(at_, "':' after an object key");
        ++at_;
      }
      break;
    }
  }
}

}  // namespace attnhook::detail
