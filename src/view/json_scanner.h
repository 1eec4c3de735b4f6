// Internal: a validating JSON reader over bytes in memory (RFC 8259), for untrusted files.
//
// It builds no document: the schema readers (json_read.cpp) walk the text with it, keep
// what they need and skip the rest. Nesting is limited (ReadLimits::max_nesting_depth)
// and skipping uses no recursion, so no input can exhaust the stack; strings are checked
// to be UTF-8 and decoded; every syntax error names its line and column:
//   attention file 'a.json' is not valid JSON: parse error at line 3, column 16: ...
//
//   JsonScanner json(text, path, 64);
//   json.begin_object();
//   for (std::string key; json.next_member(key);)
//     if (key == "tokens") ... else json.skip_value();
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace attnhook::detail {

class JsonScanner {
 public:
  enum class Kind { kObject, kArray, kString, kNumber, kBool, kNull, kEnd, kInvalid };

  JsonScanner(std::string_view text, std::string path, int max_depth);

  size_t position() const { return at_; }
  // Moves the cursor to `at`, which must be the start of a value this scanner (or another
  // over the same text) has seen, at nesting depth `depth`.
  void seek(size_t at, int depth = 0);
  std::string_view text() const { return text_; }

  // What the next value is (whitespace skipped; the cursor then stays on its first byte).
  Kind next_kind();
  // Whitespace skipped, at the end of the text?
  bool at_end();

  // '{' ... '}': begin_object, then next_member until it returns false (it consumes '}').
  // Each member's value must be consumed (read or skipped) before the next call.
  void begin_object();
  bool next_member(std::string& key);
  // '[' ... ']': begin_array, then next_element until it returns false.
  void begin_array();
  bool next_element();

  // A string value, decoded (escapes resolved; the bytes are valid UTF-8).
  std::string read_string();
  // A number's text, as written (its grammar checked).
  std::string_view read_number_text();
  // Consumes `null` and returns true if the next value is null.
  bool read_null();
  // Any value, checked, without building it.
  void skip_value();

  // Fast paths over text whose syntax skip_value() has checked already (a second pass):
  // skim_value skips a value following only strings and brackets; skim_numbers counts
  // the elements of the array at the cursor and skips it, stopping early (cursor on the
  // element) at the first element that is not a number or null, whose index it returns
  // in `not_a_number` (-1 if none).
  void skim_value();
  int64_t skim_numbers(int64_t& not_a_number);

  // Long scans call release(position) every `step` bytes, so that the caller can give
  // back the memory of the text behind the cursor (InputFile::release).
  void release_behind(std::function<void(size_t)> release, size_t step = size_t{16} << 20);

  // "attention file '<path>' is not valid JSON: parse error at line L, column C: <reason>"
  [[noreturn]] void syntax_error(const std::string& reason, size_t at) const;
  // "line L, column C" of byte `at`.
  std::string location(size_t at) const;
  // A short description of the value that starts at `at`, for messages: "an array",
  // "the string \"abc\"", "the number 12" (quoted text cut and escaped).
  std::string describe(size_t at);

 private:
  void skip_space();
  void progress() {
    if (at_ >= release_next_ && release_) {
      release_(at_);
      release_next_ = at_ + release_step_;
    }
  }
  size_t scan_number(size_t at) const;   // end of the number at `at`
  size_t scan_string(size_t at, std::string* out) const;  // end of the string at `at`
  size_t scan_literal(size_t at) const;  // true, false, null
  void enter(size_t at);
  [[noreturn]] void unexpected(size_t at, const char* expected) const;

  std::string_view text_;
  std::string path_;
  int max_depth_;
  size_t at_ = 0;
  std::vector<bool> first_;  // per open container: no member or element read yet
  int base_depth_ = 0;       // containers open above the first seek()ed value
  std::function<void(size_t)> release_;
  size_t release_step_ = 0;
  size_t release_next_ = SIZE_MAX;
};

}  // namespace attnhook::detail
