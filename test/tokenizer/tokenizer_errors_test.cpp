// Bad files, bad options and bad text: each is an attnhook::Error whose words are asserted.
// Then garbage: mutated tokenizer.json files must load or throw attnhook::Error, never crash
// (the entry point a libFuzzer harness will call).
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "attnhook/error.h"
#include "attnhook/tokenizer.h"
#include "tokenizer_testing.h"

namespace {

using attnhook::EncodeOptions;
using attnhook::Tokenizer;
using nlohmann::json;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const attnhook::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A valid WordPiece tokenizer.json, as a base for the broken ones.
json wordpiece() {
  return json::parse(R"({
    "version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null,
    "post_processor": null, "decoder": null,
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100, "vocab": {"[UNK]": 0, "a": 1, "##b": 2}}})");
}

std::string load_error(const json& spec) {
  return error_of([&] { Tokenizer::from_json_text(spec.dump(), "t.json"); });
}

struct BadFile {
  const char* what;
  std::function<void(json&)> change;
  const char* error;
};

TEST(TokenizerErrors, BadFilesNameTheFileThePathAndWhatIsWrong) {
  const std::vector<BadFile> table = {
      {"no model", [](json& j) { j.erase("model"); }, "t.json: model is missing"},
      {"unknown model", [](json& j) { j["model"]["type"] = "Unigram"; },
       "t.json: model.type 'Unigram' is not supported; supported: WordPiece, BPE, WordLevel "
       "(Unigram: load the .model file)"},
      {"unknown normalizer",
       [](json& j) {
         j["normalizer"] = {{"type", "Precompiled"}};
       },
       "t.json: normalizer.type 'Precompiled' is not supported; supported: BertNormalizer, "
       "Lowercase, NFC, NFD, NFKC, NFKD, StripAccents, Strip, Replace, Prepend, Sequence"},
      {"unknown pre-tokenizer in a sequence",
       [](json& j) {
         j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers":
             [{"type": "WhitespaceSplit"}, {"type": "UnicodeScripts"}]})");
       },
       "t.json: pre_tokenizer.pretokenizers[1].type 'UnicodeScripts' is not supported; "
       "supported: BertPreTokenizer, ByteLevel, Split, Whitespace, WhitespaceSplit, Punctuation, "
       "Digits, Metaspace, CharDelimiterSplit, Sequence"},
      {"unknown post-processor",
       [](json& j) {
         j["post_processor"] = {{"type", "Fancy"}};
       },
       "t.json: post_processor.type 'Fancy' is not supported; supported: BertProcessing, "
       "RobertaProcessing, TemplateProcessing, ByteLevel, Sequence"},
      {"vocab of the wrong type", [](json& j) { j["model"]["vocab"] = json::array(); },
       "t.json: model.vocab must be an object, not array"},
      {"negative id", [](json& j) { j["model"]["vocab"]["a"] = -1; },
       "t.json: model.vocab[\"a\"] must be a non-negative integer, not -1"},
      {"flag of the wrong type",
       [](json& j) {
         j["normalizer"] = {{"type", "Strip"}, {"strip_left", "yes"}};
       },
       "t.json: normalizer.strip_left must be true or false, not string"},
      {"bad split regex",
       [](json& j) {
         j["pre_tokenizer"] = {
             {"type", "Split"}, {"pattern", {{"Regex", "(ab"}}}, {"behavior", "Isolated"}};
       },
       "t.json: pre_tokenizer.pattern.Regex: regex '(ab' does not compile: "
       "U_REGEX_MISMATCHED_PAREN at offset 3"},
      {"bad split behavior",
       [](json& j) {
         j["pre_tokenizer"] = {
             {"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", "Weird"}};
       },
       "t.json: pre_tokenizer.behavior 'Weird' is not one of Removed, Isolated, "
       "MergedWithPrevious, MergedWithNext, Contiguous"},
      {"template with an undeclared special token",
       [](json& j) {
         j["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {}})");
       },
       "t.json: post_processor.single[0].SpecialToken.id '[CLS]' is not in "
       "post_processor.special_tokens"},
      {"single template using B",
       [](json& j) {
         j["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
             "single": [{"Sequence": {"id": "B", "type_id": 0}}],
             "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {}})");
       },
       "t.json: post_processor.single uses $B, but a single text has no B"},
      {"truncation strategy",
       [](json& j) {
         j["truncation"] = {{"max_length", 8}, {"strategy", "Middle"}};
       },
       "t.json: truncation.strategy 'Middle' is not LongestFirst, OnlyFirst or OnlySecond"},
      {"added token without id",
       [](json& j) {
         j["added_tokens"] = json::array({{{"content", "x"}}});
       },
       "t.json: added_tokens[0].id is missing"},
  };
  for (const BadFile& bad : table) {
    json spec = wordpiece();
    bad.change(spec);
    EXPECT_EQ(load_error(spec), bad.error) << bad.what;
  }
}

TEST(TokenizerErrors, BpeProblemsNameTheMerge) {
  json bpe = json::parse(R"({"model": {"type": "BPE", "dropout": null, "unk_token": null,
      "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}})");
  EXPECT_EQ(load_error(bpe), "(no error)");
  bpe["model"]["merges"] = json::array({"a c"});
  EXPECT_EQ(load_error(bpe), "t.json: model.merges[0] uses 'c', which is not in the vocabulary");
  bpe["model"]["merges"] = json::array({"a b c"});
  EXPECT_EQ(load_error(bpe),
            "t.json: model.merges[0] 'a b c' is not two tokens separated by one space");
  bpe["model"]["merges"] = json::array({json::array({"b", "a"})});
  EXPECT_EQ(load_error(bpe), "t.json: model.merges[0] makes 'ba', which is not in the vocabulary");
  bpe["model"]["merges"] = json::array();
  bpe["model"]["dropout"] = 0.1;
  EXPECT_EQ(
      load_error(bpe),
      "t.json: model.dropout is 0.1: BPE dropout is random and not supported (null or 0 only)");
}

TEST(TokenizerErrors, NotJsonNamesTheFileAndThePosition) {
  EXPECT_EQ(error_of([] { Tokenizer::from_json_text("{\n  \"model\": ,", "bad.json"); }),
            "bad.json is not valid JSON: parse error at line 2, column 12: syntax error while "
            "parsing value - unexpected ','; expected '[', '{', or a literal");
  EXPECT_EQ(error_of([] { Tokenizer::from_json_text("", "empty.json"); }),
            "empty.json is not valid JSON: parse error at line 1, column 1: syntax error while "
            "parsing value - unexpected end of input; expected '[', '{', or a literal");
  EXPECT_EQ(error_of([] { Tokenizer::from_json_text("[1, 2]", "list.json"); }),
            "list.json: the top level must be an object, not array");
}

TEST(TokenizerErrors, FilesThatCannotBeReadOrAreNotModels) {
  EXPECT_EQ(error_of([] { Tokenizer::load("/nonexistent/tokenizer.json"); }),
            "cannot open tokenizer file '/nonexistent/tokenizer.json': No such file or directory");
  std::string path = ::testing::TempDir() + "garbage.model";
  std::ofstream(path, std::ios::binary) << std::string("\x08\x96\x01garbage\xff", 11);
  std::string error = error_of([&] { Tokenizer::load(path); });
  EXPECT_EQ(error.rfind(path + " is neither tokenizer.json nor a SentencePiece model: ", 0), 0u)
      << error;
  // A broken tokenizer.json is reported as JSON even when named .model.
  std::string json_path = ::testing::TempDir() + "broken.model";
  std::ofstream(json_path) << "{\"model\": ";
  EXPECT_EQ(
      error_of([&] { Tokenizer::load(json_path); }).rfind(json_path + " is not valid JSON", 0), 0u);
}

TEST(TokenizerErrors, BadOptionsAndTextSayWhatToChange) {
  Tokenizer bert = Tokenizer::load(attnhook::testing::data_path("bert_wordpiece.json"));
  EXPECT_EQ(error_of([&] { bert.encode("x", EncodeOptions().truncation(true)); }),
            "truncation needs max_length > 0");
  EXPECT_EQ(error_of([&] { bert.encode("x", EncodeOptions().padding_to_max_length(true)); }),
            "padding to max_length needs max_length > 0");
  EXPECT_EQ(error_of([&] { bert.encode("x", EncodeOptions().max_length(1).truncation(true)); }),
            "max_length 1 is smaller than the 2 special tokens TemplateProcessing adds");
  EXPECT_EQ(error_of([&] {
              bert.encode("a b c",
                          EncodeOptions().max_length(3).truncation(true).truncation_strategy(
                              attnhook::TruncationStrategy::kOnlySecond));
            }),
            "truncation only_second needs a pair: the second text is missing");
  EXPECT_EQ(
      error_of([&] {
        bert.encode("a", "b c",
                    EncodeOptions().max_length(4).truncation(true).truncation_strategy(
                        attnhook::TruncationStrategy::kOnlyFirst));
      }),
      "truncation only_first cannot reach max_length 1: the first text has 1 tokens, 2 must go");
  EXPECT_EQ(error_of([&] { bert.encode("ok \xff here"); }),
            "the text is not valid UTF-8: bad byte 0xFF at byte offset 3");
  EXPECT_EQ(error_of([&] { bert.encode("ok", "\xc3"); }),
            "the pair text is not valid UTF-8: bad byte 0xC3 at byte offset 0");
  EXPECT_EQ(error_of([&] {
              bert.encode("x", EncodeOptions().max_length(4).padding_to_max_length(true).pad_token(
                                   "<nope>"));
            }),
            "pad token '<nope>' is not in the vocabulary of " +
                attnhook::testing::data_path("bert_wordpiece.json"));
  Tokenizer llama = Tokenizer::from_json_text(
      attnhook::testing::read_text(attnhook::testing::data_path("llama3_bpe.json")), "llama3.json");
  EXPECT_EQ(error_of([&] {
              llama.encode("x", EncodeOptions().max_length(4).padding_to_max_length(true));
            }),
            "llama3.json has no pad token (no padding section, no [PAD] or <pad> in the "
            "vocabulary): name one with EncodeOptions().pad_token(...)");
  EXPECT_EQ(
      error_of([&] {
        bert.encode("x",
                    EncodeOptions().max_length(8).padding_to_max_length(true).pad_to_multiple_of(
                        std::size_t{1} << 40));
      }),
      "padding to 8 tokens (multiple of 1099511627776) is beyond attnhook's limit of 16777216");
}

TEST(TokenizerErrors, AMissingUnknownTokenIsAnErrorWhenAWordNeedsIt) {
  json spec = wordpiece();
  spec["model"]["vocab"].erase("[UNK]");
  Tokenizer tok = Tokenizer::from_json_text(spec.dump(), "t.json");
  EXPECT_EQ(tok.encode("ab").tokens, (std::vector<std::string>{"a", "##b"}));
  EXPECT_EQ(error_of([&] { tok.encode("ab zz"); }),
            "t.json: the WordPiece vocabulary has no unknown token '[UNK]', which 'ab zz' needs");
}

// Every committed tokenizer.json, mutated: bytes flipped, cut, values replaced by other
// JSON types. Loading and encoding must succeed or throw attnhook::Error.
TEST(TokenizerErrors, MutatedFilesLoadOrThrowButNeverCrash) {
  const std::vector<std::string> files = {
      "bert_wordpiece.json", "cased_wordpiece.json", "roberta_bpe.json",        "gpt2_bpe.json",
      "llama3_bpe.json",     "llama2_bpe.json",      "metaspace_wordlevel.json"};
  const std::vector<json> replacements = {nullptr,
                                          -1,
                                          0,
                                          1e300,
                                          "x",
                                          "",
                                          true,
                                          json::array(),
                                          json::object(),
                                          json::array({1, "a"}),
                                          json::object({{"type", "Sequence"}})};
  std::mt19937 rng(7);
  int loaded = 0, refused = 0;
  auto attempt = [&](const std::string& text) {
    try {
      Tokenizer tok = Tokenizer::from_json_text(text, "fuzz.json");
      for (const char* s : {"Hello, world!", "", "日本語 😀 [CLS] <s>", "  a\tb\n"}) {
        try {
          tok.encode(s, "pair",
                     EncodeOptions().max_length(6).truncation(true).padding_to_max_length(true));
        } catch (const attnhook::Error&) {
        }
        tok.encode(s, EncodeOptions().file_defaults(false));
      }
      ++loaded;
    } catch (const attnhook::Error&) {
      ++refused;
    }
  };
  for (const std::string& name : files) {
    const std::string original = attnhook::testing::read_text(attnhook::testing::data_path(name));
    const json parsed = json::parse(original);
    for (int i = 0; i < 60; ++i) {
      // Structural: one value somewhere becomes something else.
      json mutated = parsed;
      std::vector<json*> nodes;
      std::vector<json*> stack = {&mutated};
      while (!stack.empty()) {
        json* node = stack.back();
        stack.pop_back();
        nodes.push_back(node);
        if (node->is_structured() && node->size() < 50) {
          for (auto& child : *node) stack.push_back(&child);
        }
      }
      *nodes[std::uniform_int_distribution<std::size_t>(1, nodes.size() - 1)(rng)] =
          replacements[std::uniform_int_distribution<std::size_t>(0, replacements.size() - 1)(rng)];
      attempt(mutated.dump());
      // Textual: a few bytes changed, or the file cut short.
      std::string bytes = original;
      for (int k = 0; k < 3; ++k) {
        bytes[std::uniform_int_distribution<std::size_t>(0, bytes.size() - 1)(rng)] =
            static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
      }
      attempt(bytes);
      attempt(
          original.substr(0, std::uniform_int_distribution<std::size_t>(0, original.size())(rng)));
    }
  }
  EXPECT_EQ(loaded + refused, static_cast<int>(files.size()) * 60 * 3);
  EXPECT_GT(loaded, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
