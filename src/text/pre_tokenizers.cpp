// tokenizer.json "pre_tokenizer": each type as `tokenizers` defines it.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "text/byte_level.h"
#include "text/components.h"

namespace attnhook::text {
namespace {

std::vector<NormalizedString> split_on(const NormalizedString& piece, bool (*is_match)(char32_t),
                                       SplitBehavior behavior) {
  return piece.split(find_char_matches(piece.get(), is_match), behavior);
}

bool is_ascii_or_bert_punctuation(char32_t c) { return is_bert_punctuation(c); }

class BertPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& text) const override {
    text.split([](std::size_t, NormalizedString&& s) {
      return split_on(s, is_whitespace, SplitBehavior::kRemoved);
    });
    text.split([](std::size_t, NormalizedString&& s) {
      return split_on(s, is_ascii_or_bert_punctuation, SplitBehavior::kIsolated);
    });
  }
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space),
        use_regex_(use_regex),
        regex_(RegexPattern::compile(kGpt2Pattern, "ByteLevel")) {}

  void pre_tokenize(PreTokenizedString& text) const override {
    text.split([this](std::size_t, NormalizedString&& s) {
      if (add_prefix_space_ && (s.get().empty() || s.get()[0] != ' ')) s.prepend(" ");
      if (!use_regex_) return std::vector<NormalizedString>{std::move(s)};
      return s.split(regex_->find_matches(s.get()), SplitBehavior::kIsolated);
    });
    text.normalize([](NormalizedString& s) { to_byte_level(s); });
  }

 private:
  bool add_prefix_space_;
  bool use_regex_;
  std::unique_ptr<RegexPattern> regex_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(PatternSpec pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  void pre_tokenize(PreTokenizedString& text) const override {
    text.split([this](std::size_t, NormalizedString&& s) {
      Matches matches = pattern_.regex ? pattern_.regex->find_matches(s.get())
                                       : find_literal_matches(s.get(), pattern_.literal);
      if (invert_) matches = invert(std::move(matches));
      return s.split(matches, behavior_);
    });
  }

 private:
  PatternSpec pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// HF: the matches of \w+|[^\w\s]+ are the words; the whitespace between is dropped.
class WhitespacePreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& text) const override {
    text.split([](std::size_t, NormalizedString&& s) {
      const std::string& str = s.get();
      auto is_symbol = [](char32_t c) { return !is_word_char(c) && !is_whitespace(c); };
      std::vector<ByteRange> words;
      for (std::size_t i = 0; i < str.size();) {
        std::size_t start = i;
        char32_t c = next_char(str, i);
        if (!is_word_char(c) && !is_symbol(c)) continue;  // whitespace
        bool word = is_word_char(c);
        while (i < str.size()) {
          std::size_t next = i;
          char32_t d = next_char(str, next);
          if (word ? !is_word_char(d) : !is_symbol(d)) break;
          i = next;
        }
        words.emplace_back(start, i);
      }
      Matches matches;  // words are kept (false), the gaps removed (true)
      std::size_t gap = 0;
      for (const ByteRange& w : words) {
        if (gap < w.first) matches.push_back({{gap, w.first}, true});
        matches.push_back({w, false});
        gap = w.second;
      }
      if (gap < str.size()) matches.push_back({{gap, str.size()}, true});
      return s.split(matches, SplitBehavior::kRemoved);
    });
  }
};

class CharPredicatePreTokenizer : public PreTokenizer {
 public:
  CharPredicatePreTokenizer(bool (*is_match)(char32_t), SplitBehavior behavior)
      : is_match_(is_match), behavior_(behavior) {}
  void pre_tokenize(PreTokenizedString& text) const override {
    text.split(
        [this](std::size_t, NormalizedString&& s) { return split_on(s, is_match_, behavior_); });
  }

 private:
  bool (*is_match_)(char32_t);
  SplitBehavior behavior_;
};

class CharDelimiterPreTokenizer : public PreTokenizer {
 public:
  explicit CharDelimiterPreTokenizer(char32_t delimiter) : delimiter_(delimiter) {}
  void pre_tokenize(PreTokenizedString& text) const override {
    text.split([this](std::size_t, NormalizedString&& s) {
      char32_t d = delimiter_;
      return s.split(find_char_matches(s.get(), [d](char32_t c) { return c == d; }),
                     SplitBehavior::kRemoved);
    });
  }

 private:
  char32_t delimiter_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), scheme_(scheme), split_(split) {
    append_utf8(replacement_text_, replacement);
  }

  void pre_tokenize(PreTokenizedString& text) const override {
    text.split([this](std::size_t, NormalizedString&& s) {
      s.replace(find_literal_matches(s.get(), " "), replacement_text_);
      bool starts = s.get().compare(0, replacement_text_.size(), replacement_text_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways ||
                      (scheme_ == PrependScheme::kFirst && s.original_shift() == 0))) {
        s.prepend(replacement_text_);
      }
      if (!split_) return std::vector<NormalizedString>{std::move(s)};
      char32_t r = replacement_;
      return s.split(find_char_matches(s.get(), [r](char32_t c) { return c == r; }),
                     SplitBehavior::kMergedWithNext);
    });
  }

 private:
  char32_t replacement_;
  std::string replacement_text_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void pre_tokenize(PreTokenizedString& text) const override {
    for (const auto& step : steps_) step->pre_tokenize(text);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

constexpr const char* kSupported =
    "BertPreTokenizer, ByteLevel, Split, Whitespace, WhitespaceSplit, Punctuation, Digits, "
    "Metaspace, CharDelimiterSplit, Sequence";

SplitBehavior read_behavior(const Json& spec, const std::string& path, SplitBehavior fallback) {
  std::optional<std::string> name = get_optional_string(spec, "behavior", path);
  if (!name) return fallback;
  static const std::array<std::pair<const char*, SplitBehavior>, 5> kNames = {{
      {"Removed", SplitBehavior::kRemoved},
      {"Isolated", SplitBehavior::kIsolated},
      {"MergedWithPrevious", SplitBehavior::kMergedWithPrevious},
      {"MergedWithNext", SplitBehavior::kMergedWithNext},
      {"Contiguous", SplitBehavior::kContiguous},
  }};
  for (const auto& [n, b] : kNames) {
    if (*name == n) return b;
  }
  throw_field_error(join_path(path, "behavior"),
                    "'" + *name +
                        "' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, "
                        "Contiguous");
}

char32_t read_single_char(const Json& spec, const std::string& key, const std::string& path) {
  std::string value = get_string(spec, key, path);
  if (value.empty() || find_invalid_utf8(value) != std::string::npos || count_chars(value) != 1) {
    throw_field_error(join_path(path, key), "must be exactly one character, not '" + value + "'");
  }
  std::size_t i = 0;
  return next_char(value, i);
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& spec, const std::string& path,
                                                 std::vector<std::string>& names) {
  std::string type = get_type(spec, path);
  names.push_back(type);
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(get_bool(spec, "add_prefix_space", path, true),
                                                   get_bool(spec, "use_regex", path, true));
  }
  if (type == "Split") {
    PatternSpec pattern =
        read_pattern(require_field(spec, "pattern", path), join_path(path, "pattern"));
    return std::make_unique<SplitPreTokenizer>(std::move(pattern),
                                               read_behavior(spec, path, SplitBehavior::kIsolated),
                                               get_bool(spec, "invert", path, false));
  }
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "WhitespaceSplit") {
    return std::make_unique<CharPredicatePreTokenizer>(is_whitespace, SplitBehavior::kRemoved);
  }
  if (type == "Punctuation") {
    return std::make_unique<CharPredicatePreTokenizer>(
        is_ascii_or_bert_punctuation, read_behavior(spec, path, SplitBehavior::kIsolated));
  }
  if (type == "Digits") {
    bool individual = get_bool(spec, "individual_digits", path, false);
    return std::make_unique<CharPredicatePreTokenizer>(
        is_numeric, individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }
  if (type == "CharDelimiterSplit") {
    return std::make_unique<CharDelimiterPreTokenizer>(read_single_char(spec, "delimiter", path));
  }
  if (type == "Metaspace") {
    char32_t replacement = read_single_char(spec, "replacement", path);
    PrependScheme scheme = PrependScheme::kAlways;
    if (auto name = get_optional_string(spec, "prepend_scheme", path)) {
      if (*name == "always") {
        scheme = PrependScheme::kAlways;
      } else if (*name == "first") {
        scheme = PrependScheme::kFirst;
      } else if (*name == "never") {
        scheme = PrependScheme::kNever;
      } else {
        throw_field_error(join_path(path, "prepend_scheme"),
                          "'" + *name + "' is not one of always, first, never");
      }
    } else if (auto add = get_optional_bool(spec, "add_prefix_space", path)) {
      scheme = *add ? PrependScheme::kAlways : PrependScheme::kNever;  // files before 0.19
    }
    return std::make_unique<MetaspacePreTokenizer>(replacement, scheme,
                                                   get_bool(spec, "split", path, true));
  }
  if (type == "Sequence") {
    names.pop_back();
    check_nesting(path);
    std::string list_path = join_path(path, "pretokenizers");
    const Json& list = require_array(require_field(spec, "pretokenizers", path), list_path);
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (std::size_t i = 0; i < list.size(); ++i) {
      steps.push_back(
          make_pre_tokenizer(list[i], list_path + "[" + std::to_string(i) + "]", names));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  throw_unknown_type(path, type, kSupported);
}

}  // namespace attnhook::text
