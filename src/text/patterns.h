// What the splitting stages split on (HF's Pattern): a character predicate, a literal
// string, or a regex. Each returns Matches covering the whole input, matches flagged.
//
// Regexes follow Oniguruma, the engine `tokenizers` uses. Two patterns do nearly all the
// work in practice and run as hand-written matchers (fast, and exact where RE2 cannot
// go: both use the lookahead \s+(?!\S)):
//   GPT-2's  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Llama-3's (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Any other pattern compiles with ICU's regex engine, \s and \S rewritten to Oniguruma's
// meaning (White_Space; ICU's own \s lacks U+000B and U+0085).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "text/normalized_string.h"

namespace attnhook::text {

extern const char* const kGpt2Pattern;
extern const char* const kLlama3Pattern;

Matches find_char_matches(std::string_view text, const std::function<bool(char32_t)>& is_match);
Matches find_literal_matches(std::string_view text, std::string_view literal);
Matches invert(Matches matches);

class RegexPattern {
 public:
  virtual ~RegexPattern() = default;
  virtual Matches find_matches(std::string_view text) const = 0;
  // Throws attnhook::Error naming `where` (a JSON path) and the engine's reason.
  static std::unique_ptr<RegexPattern> compile(const std::string& pattern,
                                               const std::string& where);
  // Always through ICU, even for the two hand-written patterns: tests compare both ways.
  static std::unique_ptr<RegexPattern> compile_generic(const std::string& pattern,
                                                       const std::string& where);
};

}  // namespace attnhook::text
