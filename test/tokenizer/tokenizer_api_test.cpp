// The rest of the public API: vocabulary look-ups against HF, special-token counts,
// describe(), hand-checked encodings, copies and threads.
#include <gtest/gtest.h>

#include <thread>

#include "attnhook/error.h"
#include "attnhook/tokenizer.h"
#include "tokenizer_testing.h"

namespace {

using attnhook::EncodeOptions;
using attnhook::Tokenizer;
using nlohmann::json;

Tokenizer load(const std::string& name) {
  return Tokenizer::load(attnhook::testing::data_path(name));
}

TEST(TokenizerApi, VocabularyAndSpecialTokenCountsMatchHf) {
  const json expected = attnhook::testing::load_expected("encodings.json");
  int checked = 0;
  for (const json& t : expected["tokenizers"]) {
    if (!t.contains("info")) continue;  // SentencePiece: no HF tokenizer to ask
    const json& info = t["info"];
    Tokenizer tok = load(t["file"].get<std::string>());
    std::string name = t["name"].get<std::string>();
    EXPECT_EQ(tok.vocab_size(), info["vocab_size"].get<std::size_t>()) << name;
    EXPECT_EQ(tok.num_special_tokens_to_add(false),
              info["special_tokens_single"].get<std::size_t>())
        << name;
    EXPECT_EQ(tok.num_special_tokens_to_add(true), info["special_tokens_pair"].get<std::size_t>())
        << name;
    for (const auto& [token, id] : info["vocab"].items()) {
      ASSERT_EQ(tok.token_to_id(token), id.get<int64_t>()) << name << " " << token;
      ASSERT_EQ(tok.id_to_token(id.get<int64_t>()), token) << name << " " << id;
      ++checked;
    }
    EXPECT_EQ(tok.token_to_id("no such token in any vocabulary"), std::nullopt);
    EXPECT_EQ(tok.id_to_token(1000000), std::nullopt);
  }
  EXPECT_GT(checked, 4000);
}

TEST(TokenizerApi, DescribeNamesTheComponents) {
  EXPECT_EQ(load("bert_wordpiece.json").describe(),
            "WordPiece (BertNormalizer, BertPreTokenizer, TemplateProcessing)");
  EXPECT_EQ(load("llama3_bpe.json").describe(),
            "BPE (Split, ByteLevel, ByteLevel, TemplateProcessing)");
  EXPECT_EQ(Tokenizer::load(attnhook::testing::data_path("unigram.model"),
                            attnhook::LoadOptions().add_eos(true))
                .describe(),
            "SentencePiece (SentencePiece <s>/</s>)");
}

// Worked by hand from bert_wordpiece.json's vocabulary: lowercased, accents stripped,
// "," split off, [CLS]/[SEP] around, offsets into the original text.
TEST(TokenizerApi, BertEncodingWorkedByHand) {
  Tokenizer tok = load("bert_wordpiece.json");
  attnhook::Encoding e = tok.encode("Café, WORLD!");
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "ca", "##f", "##e", ",", "wor", "##ld",
                                                "!", "[SEP]"}));
  EXPECT_EQ(e.char_offsets,
            (std::vector<attnhook::Offsets>{
                {0, 0}, {0, 2}, {2, 3}, {3, 4}, {4, 5}, {6, 9}, {9, 11}, {11, 12}, {0, 0}}));
  // "é" is two bytes: "##e" (from é) covers both, and every later offset moves by one.
  EXPECT_EQ(e.offsets,
            (std::vector<attnhook::Offsets>{
                {0, 0}, {0, 2}, {2, 3}, {3, 5}, {5, 6}, {7, 10}, {10, 12}, {12, 13}, {0, 0}}));
  EXPECT_EQ(e.special_tokens_mask, (std::vector<int>{1, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(e.word_ids, (std::vector<int>{-1, 0, 0, 0, 1, 2, 2, 3, -1}));
  EXPECT_EQ(e.ids[0], *tok.token_to_id("[CLS]"));
}

TEST(TokenizerApi, PairTruncationAndPaddingWorkedByHand) {
  Tokenizer tok = load("bert_wordpiece.json");
  // 8 = [CLS] A [SEP] B [SEP]: 5 places for the texts; "the the the the" (4) and "a" (1)
  // fit exactly.
  attnhook::Encoding e =
      tok.encode("the the the the", "a",
                 EncodeOptions().max_length(8).truncation(true).padding_to_max_length(true));
  EXPECT_EQ(e.tokens,
            (std::vector<std::string>{"[CLS]", "the", "the", "the", "the", "[SEP]", "a", "[SEP]"}));
  EXPECT_EQ(e.type_ids, (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(e.attention_mask, (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1}));
  attnhook::Encoding cut =
      tok.encode("the the the the", "a the",
                 EncodeOptions().max_length(7).truncation(true).padding_to_max_length(true));
  // 7 leaves 4 places for 4 + 2 tokens: longest_first gives each half (2 and 2).
  EXPECT_EQ(cut.tokens,
            (std::vector<std::string>{"[CLS]", "the", "the", "[SEP]", "a", "the", "[SEP]"}));
  attnhook::Encoding padded =
      tok.encode("the", EncodeOptions().max_length(5).padding_to_max_length(true));
  EXPECT_EQ(padded.tokens, (std::vector<std::string>{"[CLS]", "the", "[SEP]", "[PAD]", "[PAD]"}));
  EXPECT_EQ(padded.attention_mask, (std::vector<int64_t>{1, 1, 1, 0, 0}));
  EXPECT_EQ(padded.ids[3], *tok.token_to_id("[PAD]"));
  EXPECT_EQ(padded.sequence_ids, (std::vector<int>{-1, 0, -1, -1, -1}));
}

TEST(TokenizerApi, TheFilesOwnTruncationAndPaddingApplyUnlessTurnedOff) {
  Tokenizer tok = load("gpt2_bpe.json");  // its file says: cut and pad to 48
  attnhook::Encoding padded = tok.encode("hi there");
  attnhook::Encoding bare = tok.encode("hi there", EncodeOptions().file_defaults(false));
  ASSERT_EQ(padded.size(), 48u);
  ASSERT_LT(bare.size(), 48u);
  EXPECT_EQ(std::vector<int64_t>(padded.ids.begin(), padded.ids.begin() + bare.size()), bare.ids);
  EXPECT_EQ(padded.tokens[bare.size()], "<|endoftext|>");
  EXPECT_EQ(padded.attention_mask[bare.size()], 0);
  std::string long_text(500, 'x');
  EXPECT_EQ(tok.encode(long_text).size(), 48u);
  EXPECT_GT(tok.encode(long_text, EncodeOptions().file_defaults(false)).size(), 48u);
}

TEST(TokenizerApi, CopiesShareOneTokenizerAndThreadsEncodeAtOnce) {
  Tokenizer a = load("roberta_bpe.json");
  Tokenizer b = a;
  std::string text = "Attention weights of every head, in every layer — 日本語 😀.";
  attnhook::Encoding expected = a.encode(text);
  std::vector<std::thread> threads;
  std::vector<int> same(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) same[t] += (t % 2 ? a : b).encode(text).ids == expected.ids;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(same, (std::vector<int>{200, 200, 200, 200}));
}

TEST(TokenizerApi, SentencePieceAddsBosOrEosAsAsked) {
  std::string path = attnhook::testing::data_path("unigram.model");
  Tokenizer plain = Tokenizer::load(path);
  Tokenizer llama = Tokenizer::load(path, attnhook::LoadOptions().add_bos(true));
  Tokenizer t5 = Tokenizer::load(path, attnhook::LoadOptions().add_eos(true));
  auto p = plain.encode("hello");
  auto l = llama.encode("hello");
  auto t = t5.encode("hello");
  EXPECT_EQ(l.tokens.front(), "<s>");
  EXPECT_EQ(t.tokens.back(), "</s>");
  EXPECT_EQ(std::vector<std::string>(l.tokens.begin() + 1, l.tokens.end()), p.tokens);
  EXPECT_EQ(std::vector<std::string>(t.tokens.begin(), t.tokens.end() - 1), p.tokens);
  EXPECT_EQ(l.special_tokens_mask.front(), 1);
  EXPECT_EQ(llama.num_special_tokens_to_add(true), 2u);
  // The model's own pad piece pads.
  auto padded = llama.encode("hello", EncodeOptions().max_length(12).padding_to_max_length(true));
  EXPECT_EQ(padded.tokens.back(), "<pad>");
}

}  // namespace
