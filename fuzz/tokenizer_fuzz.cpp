// libFuzzer harness for the tokenizer (include/attnhook/tokenizer.h). The first byte of
// the input picks what the rest is:
//   0  a tokenizer.json: loaded, then it encodes a fixed text, alone, as a pair, and
//      truncated and padded;
//   1  text: encoded by each committed test tokenizer (ATTNHOOK_TOKENIZER_DATA), alone,
//      as a pair with itself, and truncated and padded;
//   2  a SentencePiece .model: loaded, then it encodes the fixed text.
// Every failure must be an attnhook::Error; anything else escapes to libFuzzer (a bug).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attnhook/error.h"
#include "attnhook/tokenizer.h"

namespace {

constexpr std::string_view kText = "Hello, world! Héllo wörld — 你好 🙂 don't\tstop\n 12.5% ";

void encode_all_ways(const attnhook::Tokenizer& tokenizer, std::string_view text) {
  auto try_encode = [&](auto&& call) {
    try {
      call();
    } catch (const attnhook::Error&) {  // e.g. no pad token, or text that is not UTF-8
    }
  };
  try_encode([&] { tokenizer.encode(text); });
  try_encode([&] { tokenizer.encode(text, text); });
  try_encode([&] {
    tokenizer.encode(text, attnhook::EncodeOptions().max_length(8).truncation(true).padding_to_max_length(true));
  });
}

const std::vector<attnhook::Tokenizer>& committed_tokenizers() {
  static const std::vector<attnhook::Tokenizer> tokenizers = [] {
    std::vector<attnhook::Tokenizer> loaded;
    for (const char* name : {"bert_wordpiece.json", "gpt2_bpe.json", "llama3_bpe.json", "roberta_bpe.json",
                             "metaspace_wordlevel.json", "misc_wordpiece.json", "unigram.model"}) {
      loaded.push_back(attnhook::Tokenizer::load(std::string(ATTNHOOK_TOKENIZER_DATA) + "/" + name));
    }
    return loaded;
  }();
  return tokenizers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      try {
        encode_all_ways(attnhook::Tokenizer::from_json_text(rest), kText);
      } catch (const attnhook::Error&) {
      }
      break;
    case 1:
      for (const auto& tokenizer : committed_tokenizers()) encode_all_ways(tokenizer, rest);
      break;
    case 2:
      try {
        encode_all_ways(attnhook::Tokenizer::from_sentencepiece(rest), kText);
      } catch (const attnhook::Error&) {
      }
      break;
  }
  return 0;
}
