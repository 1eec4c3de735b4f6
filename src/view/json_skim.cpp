// JsonScanner's second-pass helpers: skimming text whose syntax is already checked, giving
// memory back behind long scans, and describing values for messages.
#include <fmt/format.h>

#include "json_chars.h"
#include "json_scanner.h"
#include "utf8.h"

namespace attnhook::detail {

using namespace json_chars;

void JsonScanner::release_behind(std::function<void(size_t)> release, size_t step) {
  release_ = std::move(release);
  release_step_ = step;
  release_next_ = at_ + step;
}

void JsonScanner::skim_value() {
  skip_space();
  const char* data = text_.data();
  const size_t size = text_.size();
  int depth = 0;
  do {
    if (at_ >= size) return;
    const char c = data[at_];
    if (c == '"') {
      for (++at_; at_ < size && data[at_] != '"'; ++at_) at_ += data[at_] == '\\';
      ++at_;
    } else if (c == '[' || c == '{') {
      ++depth, ++at_;
    } else if (c == ']' || c == '}') {
      --depth, ++at_;
    } else if (depth == 0) {  // a scalar on its own
      while (at_ < size && !is_space(data[at_]) && data[at_] != ',' && data[at_] != ']' && data[at_] != '}') ++at_;
    } else {
      ++at_;
    }
    progress();
  } while (depth > 0);
}

int64_t JsonScanner::skim_numbers(int64_t& not_a_number) {
  not_a_number = -1;
  skip_space();
  const char *data = text_.data(), *end = data + text_.size();
  if (at_ >= text_.size() || data[at_] != '[') unexpected(at_, "an array");
  const char* p = skip_spaces(data + at_ + 1, end);
  int64_t count = 0;
  if (p < end && *p == ']') {
    at_ = p + 1 - data;
    return 0;
  }
  while (p < end) {
    p = skip_spaces(p, end);
    if (p >= end) break;
    if (*p != '-' && *p != 'n' && !is_digit(*p)) {
      not_a_number = count;
      at_ = p - data;
      return count;
    }
    while (p < end && !kDelimiters.table[static_cast<unsigned char>(*p)]) ++p;
    ++count;
    p = skip_spaces(p, end);
    if (p < end && *p == ']') {
      ++p;
      break;
    }
    ++p;  // ','
    if ((count & 0xffff) == 0) {
      at_ = p - data;
      progress();
    }
  }
  at_ = p - data;
  progress();
  return count;
}

std::string JsonScanner::describe(size_t at) {
  const size_t saved = at_;
  at_ = at;
  std::string text;
  switch (next_kind()) {
    case Kind::kObject: text = "an object"; break;
    case Kind::kArray: text = "an array"; break;
    case Kind::kNull: text = "null"; break;
    case Kind::kBool: text = text_.compare(at_, 4, "true") == 0 ? "true" : "false"; break;
    case Kind::kString: text = fmt::format("the string \"{}\"", printable(read_string(), 40)); break;
    case Kind::kNumber: text = fmt::format("the number {}", printable(read_number_text(), 40)); break;
    default: text = "nothing"; break;
  }
  at_ = saved;
  return text;
}

}  // namespace attnhook::detail
