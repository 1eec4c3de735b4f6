// Every corpus line through every committed tokenizer, compared field by field with what
// HF `tokenizers` (and Python sentencepiece) wrote into expected/encodings.json
// (reference.py, run by the ctest tokenizer_reference first).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attnhook/error.h"
#include "attnhook/tokenizer.h"
#include "tokenizer_testing.h"

namespace {

using nlohmann::json;

const json& expected_encodings() {
  static const json data = attnhook::testing::load_expected("encodings.json");
  return data;
}

attnhook::EncodeOptions to_options(const json& o) {
  attnhook::EncodeOptions options;
  options.add_special_tokens(o.value("add_special_tokens", true));
  options.max_length(o.value("max_length", 0));
  options.truncation(o.value("truncation", false));
  options.padding_to_max_length(o.value("padding", false));
  options.pad_to_multiple_of(o.value("pad_to_multiple_of", 0));
  options.truncation_side(o.value("truncation_side", "right") == "left" ? attnhook::Side::kLeft
                                                                        : attnhook::Side::kRight);
  options.padding_side(o.value("padding_side", "right") == "left" ? attnhook::Side::kLeft
                                                                  : attnhook::Side::kRight);
  std::string strategy = o.value("strategy", "longest_first");
  options.truncation_strategy(strategy == "only_first" ? attnhook::TruncationStrategy::kOnlyFirst
                              : strategy == "only_second"
                                  ? attnhook::TruncationStrategy::kOnlySecond
                                  : attnhook::TruncationStrategy::kLongestFirst);
  if (o.contains("pad_token")) options.pad_token(o["pad_token"].get<std::string>());
  return options;
}

json offsets_json(const std::vector<attnhook::Offsets>& offsets) {
  json out = json::array();
  for (const auto& [b, e] : offsets) out.push_back({b, e});
  return out;
}

json to_json(const attnhook::Encoding& e, bool with_words) {
  json out = {{"ids", e.ids},
              {"tokens", e.tokens},
              {"offsets", offsets_json(e.char_offsets)},
              {"byte_offsets", offsets_json(e.offsets)},
              {"attention_mask", e.attention_mask},
              {"type_ids", e.type_ids},
              {"special_tokens_mask", e.special_tokens_mask},
              {"sequence_ids", e.sequence_ids}};
  if (with_words) out["word_ids"] = e.word_ids;
  return out;
}

struct Result {
  int encodings = 0;
  int identical = 0;
  std::vector<std::string> report;  // the first mismatches, in words
};

Result compare_tokenizer(const json& spec) {
  const json& texts = expected_encodings()["texts"];
  std::string file = attnhook::testing::data_path(spec["file"].get<std::string>());
  bool sentencepiece = spec.contains("load");
  attnhook::LoadOptions load;
  if (sentencepiece) {
    load.add_bos(spec["load"]["add_bos"].get<bool>()).add_eos(spec["load"]["add_eos"].get<bool>());
  }
  attnhook::Tokenizer tok = attnhook::Tokenizer::load(file, load);
  Result result;
  for (const json& c : spec["cases"]) {
    ++result.encodings;
    std::string text = texts[c["text"].get<int>()].get<std::string>();
    bool has_pair = !c["pair"].is_null();
    std::string pair = has_pair ? texts[c["pair"].get<int>()].get<std::string>() : "";
    attnhook::EncodeOptions options = to_options(c["options"]);
    const json& want = c["expected"];
    std::string where =
        fmt::format("{} case {} line {} text {}", spec["name"].get<std::string>(),
                    c["name"].get<std::string>(), c["text"].get<int>(), json(text).dump());
    try {
      attnhook::Encoding e = has_pair ? tok.encode(text, pair, options) : tok.encode(text, options);
      if (want.contains("error")) {
        result.report.push_back(where + ": HF refused (" + want["error"].get<std::string>() +
                                "), attnhook encoded");
        continue;
      }
      json got = to_json(e, !sentencepiece);
      bool same = true;
      for (const auto& [field, value] : got.items()) {
        if (want[field] != value) {
          same = false;
          if (result.report.size() < 40) {
            result.report.push_back(
                fmt::format("{}: {} differ\n  HF:       {}\n  attnhook: {}\n  tokens:   {}", where,
                            field, want[field].dump(), value.dump(), want["tokens"].dump()));
          }
        }
      }
      result.identical += same;
    } catch (const attnhook::Error& error) {
      if (want.contains("error")) {
        ++result.identical;
      } else if (result.report.size() < 40) {
        result.report.push_back(where + ": attnhook threw: " + error.what());
      }
    }
  }
  return result;
}

class Reference : public ::testing::TestWithParam<std::string> {};

TEST_P(Reference, EveryCorpusLineMatchesHuggingFace) {
  const json* spec = nullptr;
  for (const json& t : expected_encodings()["tokenizers"]) {
    if (t["name"] == GetParam()) spec = &t;
  }
  ASSERT_NE(spec, nullptr) << GetParam() << " is missing from encodings.json";
  Result result = compare_tokenizer(*spec);
  bool sentencepiece = spec->contains("load");
  std::cout << fmt::format(
      "[ reference] {}: {} of {} encodings identical to {} {}\n", GetParam(), result.identical,
      result.encodings, sentencepiece ? "Python sentencepiece" : "HF tokenizers",
      expected_encodings()[sentencepiece ? "sentencepiece_version" : "tokenizers_version"]
          .get<std::string>());
  std::ostringstream details;
  for (const std::string& line : result.report) details << line << "\n";
  EXPECT_EQ(result.identical, result.encodings) << details.str();
  EXPECT_GT(result.encodings, 300 * 3);  // every corpus line, several ways
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, Reference,
                         ::testing::Values("bert_wordpiece", "cased_wordpiece", "roberta_bpe",
                                           "gpt2_bpe", "llama3_bpe", "llama2_bpe",
                                           "metaspace_wordlevel", "misc_wordpiece", "subword_bpe",
                                           "unigram_bos", "unigram_eos"),
                         [](const auto& info) { return info.param; });

}  // namespace
