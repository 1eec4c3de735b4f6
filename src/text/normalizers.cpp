// tokenizer.json "normalizer": each type as `tokenizers` defines it.
#include <memory>
#include <string>
#include <vector>

#include "text/components.h"
#include "text/patterns.h"

namespace attnhook::text {
namespace {

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool chinese, bool strip_accents, bool lowercase)
      : clean_text_(clean_text),
        chinese_(chinese),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  void normalize(NormalizedString& text) const override {
    if (clean_text_) {
      text.filter([](char32_t c) { return !(c == 0 || c == 0xFFFD || is_bert_control(c)); });
      text.map([](char32_t c) { return is_bert_whitespace(c) ? U' ' : c; });
    }
    if (chinese_) {
      // A space each side of every CJK ideograph, so that it becomes a word of its own.
      std::vector<CharChange> chars;
      for (char32_t c : decode_all(text.get())) {
        if (is_chinese_char(c)) {
          chars.insert(chars.end(), {{U' ', 1}, {c, 0}, {U' ', 1}});
        } else {
          chars.emplace_back(c, 0);
        }
      }
      text.transform_if_changed(chars);
    }
    if (strip_accents_) {
      text.nfd();
      text.filter([](char32_t c) { return !is_mark_nonspacing(c); });
    }
    if (lowercase_) text.lowercase();
  }

 private:
  bool clean_text_, chinese_, strip_accents_, lowercase_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& text) const override { text.lowercase(); }
};

class StripAccentsNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& text) const override {
    text.filter([](char32_t c) { return !is_combining_mark(c); });
  }
};

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void normalize(NormalizedString& text) const override {
    switch (form_) {
      case NormalForm::kNFD:
        text.nfd();
        break;
      case NormalForm::kNFKD:
        text.nfkd();
        break;
      case NormalForm::kNFC:
        text.nfc();
        break;
      case NormalForm::kNFKC:
        text.nfkc();
        break;
    }
  }

 private:
  NormalForm form_;
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(NormalizedString& text) const override { text.strip(left_, right_); }

 private:
  bool left_, right_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::string literal, std::unique_ptr<RegexPattern> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  void normalize(NormalizedString& text) const override {
    Matches matches =
        regex_ ? regex_->find_matches(text.get()) : find_literal_matches(text.get(), literal_);
    text.replace(matches, content_);
  }

 private:
  std::string literal_;
  std::unique_ptr<RegexPattern> regex_;
  std::string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(NormalizedString& text) const override { text.prepend(prefix_); }

 private:
  std::string prefix_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  void normalize(NormalizedString& text) const override {
    for (const auto& step : steps_) step->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

constexpr const char* kSupported =
    "BertNormalizer, Lowercase, NFC, NFD, NFKC, NFKD, StripAccents, Strip, Replace, Prepend, "
    "Sequence";

}  // namespace

// A Split/Replace "pattern": {"String": "..."} or {"Regex": "..."}.
PatternSpec read_pattern(const Json& spec, const std::string& path) {
  require_object(spec, path);
  if (const Json* s = optional_field(spec, "String")) {
    return {as_string(*s, join_path(path, "String")), nullptr};
  }
  if (const Json* r = optional_field(spec, "Regex")) {
    std::string source = as_string(*r, join_path(path, "Regex"));
    return {source, RegexPattern::compile(source, join_path(path, "Regex"))};
  }
  throw_field_error(path, "must be {\"String\": ...} or {\"Regex\": ...}");
}

std::unique_ptr<Normalizer> make_normalizer(const Json& spec, const std::string& path,
                                            std::vector<std::string>& names) {
  std::string type = get_type(spec, path);
  names.push_back(type);
  if (type == "BertNormalizer") {
    bool lowercase = get_bool(spec, "lowercase", path, true);
    return std::make_unique<BertNormalizer>(
        get_bool(spec, "clean_text", path, true),
        get_bool(spec, "handle_chinese_chars", path, true),
        get_optional_bool(spec, "strip_accents", path).value_or(lowercase), lowercase);
  }
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFD);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFKD);
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFC);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFKC);
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(get_bool(spec, "strip_left", path, true),
                                             get_bool(spec, "strip_right", path, true));
  }
  if (type == "Replace") {
    PatternSpec pattern =
        read_pattern(require_field(spec, "pattern", path), join_path(path, "pattern"));
    return std::make_unique<ReplaceNormalizer>(std::move(pattern.literal), std::move(pattern.regex),
                                               get_string(spec, "content", path));
  }
  if (type == "Prepend") {
    return std::make_unique<PrependNormalizer>(get_string(spec, "prepend", path));
  }
  if (type == "Sequence") {
    names.pop_back();
    check_nesting(path);
    std::string list_path = join_path(path, "normalizers");
    const Json& list = require_array(require_field(spec, "normalizers", path), list_path);
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (std::size_t i = 0; i < list.size(); ++i) {
      steps.push_back(make_normalizer(list[i], list_path + "[" + std::to_string(i) + "]", names));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  throw_unknown_type(path, type, kSupported);
}

}  // namespace attnhook::text
