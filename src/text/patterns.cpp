#include "text/patterns.h"

#include <fmt/format.h>
#include <unicode/regex.h>
#include <unicode/utext.h>

#include "attnhook/error.h"

namespace attnhook::text {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

Matches find_char_matches(std::string_view text, const std::function<bool(char32_t)>& is_match) {
  if (text.empty()) return {{{0, 0}, false}};
  Matches matches;
  std::size_t last = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t start = i;
    char32_t c = next_char(text, i);
    if (is_match(c)) {
      if (last < start) matches.push_back({{last, start}, false});
      matches.push_back({{start, i}, true});
      last = i;
    }
  }
  if (last < text.size()) matches.push_back({{last, text.size()}, false});
  return matches;
}

namespace {

// Gaps between the spans become non-matches.
Matches from_spans(std::string_view text, const std::vector<ByteRange>& spans) {
  if (text.empty()) return {{{0, 0}, false}};
  Matches matches;
  std::size_t previous = 0;
  for (const ByteRange& span : spans) {
    if (previous != span.first) matches.push_back({{previous, span.first}, false});
    matches.push_back({span, true});
    previous = span.second;
  }
  if (previous != text.size()) matches.push_back({{previous, text.size()}, false});
  return matches;
}

}  // namespace

Matches find_literal_matches(std::string_view text, std::string_view literal) {
  if (literal.empty()) {
    // HF's quirk, kept: the whole text as one non-match, its length counted in chars.
    return {{{0, count_chars(text)}, false}};
  }
  std::vector<ByteRange> spans;
  for (std::size_t pos = text.find(literal); pos != std::string_view::npos;
       pos = text.find(literal, pos + literal.size())) {
    spans.emplace_back(pos, pos + literal.size());
  }
  return from_spans(text, spans);
}

Matches invert(Matches matches) {
  for (auto& m : matches) m.second = !m.second;
  return matches;
}

namespace {

struct Chars {
  std::vector<char32_t> c;
  std::vector<std::size_t> byte;  // byte offset of each char, plus the end
};

Chars decode_positions(std::string_view text) {
  Chars chars;
  chars.c.reserve(text.size());
  chars.byte.reserve(text.size() + 1);
  for (std::size_t i = 0; i < text.size();) {
    chars.byte.push_back(i);
    chars.c.push_back(next_char(text, i));
  }
  chars.byte.push_back(text.size());
  return chars;
}

bool is_other(char32_t c) { return !is_whitespace(c) && !is_letter(c) && !is_number(c); }
bool is_newline(char32_t c) { return c == '\r' || c == '\n'; }

template <typename Pred>
std::size_t run_of(const std::vector<char32_t>& c, std::size_t i, Pred pred) {
  while (i < c.size() && pred(c[i])) ++i;
  return i;
}

// \s+(?!\S) then \s+: a whitespace run gives back its last char when a non-space follows.
std::size_t whitespace_run_end(const std::vector<char32_t>& c, std::size_t i) {
  std::size_t end = run_of(c, i, is_whitespace);
  if (end == c.size() || end - i == 1) return end;
  return end - 1;
}

std::size_t gpt2_match_end(const std::vector<char32_t>& c, std::size_t i) {
  std::size_t n = c.size();
  if (c[i] == '\'' && i + 1 < n) {
    char32_t a = c[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 < n) {
      char32_t b = c[i + 2];
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
  }
  std::size_t j = c[i] == ' ' ? i + 1 : i;
  if (j < n) {
    if (is_letter(c[j])) return run_of(c, j, is_letter);
    if (is_number(c[j])) return run_of(c, j, is_number);
    if (is_other(c[j])) return run_of(c, j, is_other);
  }
  return whitespace_run_end(c, i);
}

char32_t fold(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c == 0x17F) return 's';  // LATIN SMALL LETTER LONG S folds to s
  return c;
}

std::size_t llama3_match_end(const std::vector<char32_t>& c, std::size_t i) {
  std::size_t n = c.size();
  if (c[i] == '\'' && i + 1 < n) {
    char32_t a = fold(c[i + 1]);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 < n) {
      char32_t b = fold(c[i + 2]);
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
  }
  if (is_letter(c[i])) return run_of(c, i, is_letter);
  if (!is_newline(c[i]) && !is_number(c[i]) && i + 1 < n && is_letter(c[i + 1])) {
    return run_of(c, i + 1, is_letter);
  }
  if (is_number(c[i])) {
    std::size_t end = i;
    while (end < n && end - i < 3 && is_number(c[end])) ++end;
    return end;
  }
  std::size_t j = c[i] == ' ' ? i + 1 : i;
  if (j < n && is_other(c[j])) return run_of(c, run_of(c, j, is_other), is_newline);
  // \s*[\r\n]+ : up to and including the run's last newline.
  std::size_t run_end = run_of(c, i, is_whitespace);
  for (std::size_t p = run_end; p-- > i;) {
    if (is_newline(c[p])) return p + 1;
  }
  return whitespace_run_end(c, i);
}

class HandWrittenPattern : public RegexPattern {
 public:
  using MatchEnd = std::size_t (*)(const std::vector<char32_t>&, std::size_t);
  explicit HandWrittenPattern(MatchEnd match_end) : match_end_(match_end) {}

  Matches find_matches(std::string_view text) const override {
    Chars chars = decode_positions(text);
    std::vector<ByteRange> spans;
    for (std::size_t i = 0; i < chars.c.size();) {
      std::size_t end = match_end_(chars.c, i);
      spans.emplace_back(chars.byte[i], chars.byte[end]);
      i = end;
    }
    return from_spans(text, spans);
  }

 private:
  MatchEnd match_end_;
};

// Oniguruma's \s is White_Space; ICU's lacks U+000B and U+0085. Rewritten outside and
// inside character classes alike; escaped backslashes are left alone.
std::string to_icu_syntax(const std::string& pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      char next = pattern[i + 1];
      if (next == 's') {
        out += "\\p{White_Space}";
      } else if (next == 'S') {
        out += "\\P{White_Space}";
      } else {
        out += pattern[i];
        out += next;
      }
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

class IcuPattern : public RegexPattern {
 public:
  IcuPattern(const std::string& pattern, const std::string& where) {
    UErrorCode status = U_ZERO_ERROR;
    UParseError parse_error{};
    icu::UnicodeString source = icu::UnicodeString::fromUTF8(to_icu_syntax(pattern));
    regex_.reset(icu::RegexPattern::compile(source, 0, parse_error, status));
    if (U_FAILURE(status)) {
      throw Error(fmt::format("{}: regex '{}' does not compile: {} at offset {}", where, pattern,
                              u_errorName(status), parse_error.offset));
    }
  }

  Matches find_matches(std::string_view text) const override {
    if (text.empty()) return {{{0, 0}, false}};
    UErrorCode status = U_ZERO_ERROR;
    UText* utext = utext_openUTF8(nullptr, text.data(), static_cast<int64_t>(text.size()), &status);
    std::unique_ptr<icu::RegexMatcher> matcher(regex_->matcher(status));
    if (U_FAILURE(status)) {
      utext_close(utext);
      throw Error(fmt::format("regex matcher failed: {}", u_errorName(status)));
    }
    matcher->reset(utext);
    std::vector<ByteRange> spans;
    while (matcher->find(status) && U_SUCCESS(status)) {
      spans.emplace_back(static_cast<std::size_t>(matcher->start64(status)),
                         static_cast<std::size_t>(matcher->end64(status)));
    }
    matcher.reset();
    utext_close(utext);
    if (U_FAILURE(status)) throw Error(fmt::format("regex search failed: {}", u_errorName(status)));
    return from_spans(text, spans);
  }

 private:
  std::unique_ptr<icu::RegexPattern> regex_;
};

}  // namespace

std::unique_ptr<RegexPattern> RegexPattern::compile(const std::string& pattern,
                                                    const std::string& where) {
  if (pattern == kGpt2Pattern) return std::make_unique<HandWrittenPattern>(gpt2_match_end);
  if (pattern == kLlama3Pattern) return std::make_unique<HandWrittenPattern>(llama3_match_end);
  return compile_generic(pattern, where);
}

std::unique_ptr<RegexPattern> RegexPattern::compile_generic(const std::string& pattern,
                                                            const std::string& where) {
  return std::make_unique<IcuPattern>(pattern, where);
}

}  // namespace attnhook::text
