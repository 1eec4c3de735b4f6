// The hand-written GPT-2 and Llama-3 matchers against ICU's regex engine running the same
// pattern, on the corpus and on random strings built from the characters that matter
// (spaces of all kinds, newlines, letters, digits, apostrophes, punctuation, marks).
// HF's own splits of the corpus are checked through the reference test.
#include "text/patterns.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "attnhook/error.h"
#include "tokenizer_testing.h"

namespace attnhook::text {
namespace {

std::string describe(const Matches& m, std::string_view text) {
  std::string out;
  for (const auto& [range, is_match] : m) {
    out += fmt::format("{}[{}]", is_match ? "+" : "-",
                       std::string(text.substr(range.first, range.second - range.first)));
  }
  return out;
}

std::vector<std::string> random_strings(std::size_t count) {
  const std::vector<std::string> pieces = {
      " ",    "  ",  "\t", "\n", "\r",     "\r\n",   "\u00a0", "\u3000", "\u2028", "\u0085",
      "\x0b", "a",   "Z",  "é",  "日",     "ß",      "ſ",      "'",      "'s",     "'S",
      "'re",  "'LL", "'d", "'x", "1",      "23",     "4567",   "٣",      "½",      "!",
      "?!",   "...", "-",  "😀",  "\u0301", "\u200b", "_",      "$",      "İ"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1), length(0, 12);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    std::string s;
    for (std::size_t n = length(rng); n > 0; --n) s += pieces[pick(rng)];
    out.push_back(s);
  }
  return out;
}

class HandWritten : public ::testing::TestWithParam<const char*> {};

TEST_P(HandWritten, SplitsLikeIcuRunningThePattern) {
  auto fast = RegexPattern::compile(GetParam(), "test");
  auto icu = RegexPattern::compile_generic(GetParam(), "test");
  std::vector<std::string> texts = random_strings(20000);
  const nlohmann::json expected = attnhook::testing::load_expected("encodings.json");
  const nlohmann::json& corpus = expected["texts"];
  for (const auto& t : corpus) texts.push_back(t.get<std::string>());
  ASSERT_GT(corpus.size(), 300u);
  int compared = 0;
  for (const std::string& text : texts) {
    Matches a = fast->find_matches(text), b = icu->find_matches(text);
    ASSERT_EQ(a, b) << "text " << nlohmann::json(text).dump()
                    << "\n  hand-written: " << describe(a, text)
                    << "\n  ICU:          " << describe(b, text);
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(texts.size()));
}

INSTANTIATE_TEST_SUITE_P(Patterns, HandWritten, ::testing::Values(kGpt2Pattern, kLlama3Pattern),
                         [](const auto& info) {
                           return std::string(info.param == kGpt2Pattern ? "Gpt2" : "Llama3");
                         });

TEST(Patterns, Gpt2KeepsTheSpaceWithTheNextWordAndSplitsWhitespaceRuns) {
  auto p = RegexPattern::compile(kGpt2Pattern, "test");
  std::string text = "Hello  world's 42!!\n\n";
  EXPECT_EQ(describe(p->find_matches(text), text), "+[Hello]+[ ]+[ world]+['s]+[ 42]+[!!]+[\n\n]");
}

TEST(Patterns, Llama3GroupsDigitsByThreeAndKeepsNewlinesTogether) {
  auto p = RegexPattern::compile(kLlama3Pattern, "test");
  std::string text = "I'M 1234567 ok.\n\n  x";
  EXPECT_EQ(describe(p->find_matches(text), text),
            "+[I]+['M]+[ ]+[123]+[456]+[7]+[ ok]+[.\n\n]+[ ]+[ x]");
}

TEST(Patterns, OnigurumaWhitespaceIncludesVerticalTabAndNextLine) {
  // ICU's own \s lacks U+000B and U+0085; the rewrite to White_Space restores them.
  auto p = RegexPattern::compile_generic(R"(\s+)", "test");
  std::string text = "a\x0b\u0085b";
  EXPECT_EQ(describe(p->find_matches(text), text), "-[a]+[\x0b\u0085]-[b]");
}

TEST(Patterns, LiteralAndCharMatchesCoverTheText) {
  EXPECT_EQ(describe(find_literal_matches("aabbab", "ab"), "aabbab"), "-[a]+[ab]-[b]+[ab]");
  EXPECT_EQ(describe(find_char_matches("a-b", [](char32_t c) { return c == '-'; }), "a-b"),
            "-[a]+[-]-[b]");
}

TEST(Patterns, ABadRegexIsAnErrorNamingWhereAndWhy) {
  try {
    RegexPattern::compile("(ab", "pre_tokenizer.pattern.Regex");
    FAIL() << "no error";
  } catch (const attnhook::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "pre_tokenizer.pattern.Regex: regex '(ab' does not compile: "
              "U_REGEX_MISMATCHED_PAREN at offset 3");
  }
}

}  // namespace
}  // namespace attnhook::text
