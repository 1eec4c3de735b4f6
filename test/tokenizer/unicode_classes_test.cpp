// Every code point through the same tiny strings HF ran in reference.py (char_classes.json):
// BERT's cleaning, accent stripping and punctuation splitting, StripAccents, Lowercase, and
// the GPT-2 regex's letter / number / other classes. The whole of Unicode, not a sample:
// the crates HF uses froze old Unicode versions, and ICU must be asked the same question.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unicode/uchar.h>

#include <set>

#include "text/components.h"
#include "text/patterns.h"
#include "tokenizer_testing.h"

namespace attnhook::text {
namespace {

using nlohmann::json;

const json& classes() {
  static const json data = attnhook::testing::load_expected("char_classes.json");
  return data;
}

std::set<char32_t> expand(const json& ranges) {
  std::set<char32_t> out;
  for (const json& r : ranges) {
    for (auto c = r[0].get<char32_t>(); c <= r[1].get<char32_t>(); ++c) out.insert(c);
  }
  return out;
}

std::string utf8(std::initializer_list<char32_t> chars) {
  std::string s;
  for (char32_t c : chars) append_utf8(s, c);
  return s;
}

std::unique_ptr<Normalizer> normalizer(const std::string& spec) {
  std::vector<std::string> names;
  return make_normalizer(json::parse(spec), "normalizer", names);
}

std::string normalized(const Normalizer& n, const std::string& text) {
  NormalizedString s(text);
  n.normalize(s);
  return s.get();
}

// Code points to compare: all but surrogates and those Debian's ICU 72 (Unicode 15.0)
// does not know. HF's Rust side knows Unicode 16.0; its ~5,000 new characters (Todhri,
// Egyptian hieroglyphs extension A, ...) are the one known difference, and no one
// can classify a character that ICU has no data for.
bool comparable(char32_t c) {
  if (c >= 0xD800 && c <= 0xDFFF) return false;
  return u_charType(static_cast<UChar32>(c)) != U_UNASSIGNED ||
         u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_NONCHARACTER_CODE_POINT);
}

// Checks `in_set(c) == expected.count(c)` for every code point; reports the first few.
template <typename Fn>
void expect_same_set(const char* what, const json& ranges, Fn in_set) {
  ASSERT_FALSE(ranges.is_null()) << what << " is missing from char_classes.json";
  std::set<char32_t> expected = expand(ranges);
  std::vector<std::string> wrong;
  std::size_t members = 0, expected_members = 0, compared = 0;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (!comparable(c)) continue;
    ++compared;
    bool mine = in_set(c);
    members += mine;
    expected_members += expected.count(c);
    if (mine != (expected.count(c) > 0) && wrong.size() < 20) {
      wrong.push_back(fmt::format("U+{:04X} ({})", static_cast<uint32_t>(c),
                                  mine ? "attnhook only" : "HF only"));
    }
  }
  EXPECT_TRUE(wrong.empty()) << what << " differs from HF at "
                             << fmt::format("{}", fmt::join(wrong, ", "));
  EXPECT_EQ(members, expected_members) << what;
  EXPECT_GT(expected_members, 0u) << what;
  EXPECT_GT(compared, 280000u);  // assigned characters and unassigned-but-known ones
}

TEST(UnicodeClasses, BertCleanTextRemovesWhatHfRemoves) {
  auto clean = normalizer(R"({"type": "BertNormalizer", "clean_text": true,
      "handle_chinese_chars": false, "strip_accents": false, "lowercase": false})");
  expect_same_set("removed", classes()["bert_removed"], [&](char32_t c) {
    return c != 'a' && c != 'b' && normalized(*clean, utf8({'a', c, 'b'})) == "ab";
  });
  expect_same_set("whitespace", classes()["bert_whitespace"], [&](char32_t c) {
    return c != ' ' && normalized(*clean, utf8({'a', c, 'b'})) == "a b";
  });
}

TEST(UnicodeClasses, AccentStrippingMatchesHf) {
  auto bert = normalizer(R"({"type": "BertNormalizer", "clean_text": false,
      "handle_chinese_chars": false, "strip_accents": true, "lowercase": false})");
  expect_same_set("BERT accents", classes()["bert_strip_accents"], [&](char32_t c) {
    return c != 'a' && c != 'b' && normalized(*bert, utf8({'a', c, 'b'})) == "ab";
  });
  auto strip = normalizer(R"({"type": "StripAccents"})");
  expect_same_set("StripAccents", classes()["strip_accents"],
                  [&](char32_t c) { return normalized(*strip, utf8({c})).empty(); });
}

// `type` on each code point alone gives what HF's `mapping` says (absent: unchanged).
void expect_same_mapping(const std::string& type, const json& mapping, std::size_t at_least) {
  auto n = normalizer(R"({"type": ")" + type + R"("})");
  ASSERT_TRUE(mapping.is_object()) << type;
  std::vector<std::string> wrong;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (!comparable(c)) continue;
    std::string expected = utf8({c});
    auto it = mapping.find(std::to_string(static_cast<uint32_t>(c)));
    if (it != mapping.end()) {
      expected.clear();
      for (const json& x : *it) append_utf8(expected, x.get<char32_t>());
    }
    if (normalized(*n, utf8({c})) != expected && wrong.size() < 20) {
      wrong.push_back(fmt::format("U+{:04X}", static_cast<uint32_t>(c)));
    }
  }
  EXPECT_TRUE(wrong.empty()) << type << " differs from HF at "
                             << fmt::format("{}", fmt::join(wrong, ", "));
  EXPECT_GT(mapping.size(), at_least) << type;
}

TEST(UnicodeClasses, LowercaseMatchesHfForEveryCodePoint) {
  expect_same_mapping("Lowercase", classes()["lowercase"], 1000);
}

TEST(UnicodeClasses, NormalFormsMatchHfForEveryCodePoint) {
  const json& forms = classes()["normal_forms"];
  expect_same_mapping("NFD", forms["NFD"], 2000);
  expect_same_mapping("NFKD", forms["NFKD"], 5000);
  expect_same_mapping("NFC", forms["NFC"], 1000);
  expect_same_mapping("NFKC", forms["NFKC"], 4000);
}

TEST(UnicodeClasses, BertPunctuationSplitsWhereHfSplits) {
  std::vector<std::string> names;
  auto bert = make_pre_tokenizer(json::parse(R"({"type": "BertPreTokenizer"})"), "p", names);
  std::set<char32_t> apart = expand(classes()["bert_punctuation_or_space"]);
  for (char32_t c : expand(classes()["bert_whitespace"])) apart.insert(c);
  apart.insert(' ');
  json ranges = json::array();
  for (char32_t c : apart) ranges.push_back({c, c});
  // "a" + c stays one word unless c is punctuation or whitespace.
  expect_same_set("punctuation or space", ranges, [&](char32_t c) {
    PreTokenizedString s(utf8({'a', c}));
    bert->pre_tokenize(s);
    return !(s.splits.size() == 1 && s.splits[0].normalized.size() == s.original.size());
  });
}

TEST(UnicodeClasses, Gpt2RegexClassesMatchOniguruma) {
  auto regex = RegexPattern::compile(kGpt2Pattern, "test");
  auto joined = [&](char32_t first, char32_t c) {
    std::string s = utf8({first, c});
    Matches m = regex->find_matches(s);
    return m.size() == 1 && m[0].first.second == s.size();
  };
  expect_same_set("\\p{L}", classes()["gpt2_letter"], [&](char32_t c) { return joined('a', c); });
  expect_same_set("\\p{N}", classes()["gpt2_number"], [&](char32_t c) { return joined('1', c); });
  expect_same_set("[^\\s\\p{L}\\p{N}]", classes()["gpt2_other"],
                  [&](char32_t c) { return joined('!', c); });
}

}  // namespace
}  // namespace attnhook::text
