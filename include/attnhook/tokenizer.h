// Tokenizer — text to token ids in C++, the way Hugging Face's `tokenizers` does it.
//
//   auto tok = attnhook::Tokenizer::load("tokenizer.json");   // or a SentencePiece .model
//   attnhook::Encoding e = tok.encode("Hello, world!");
//   e.ids;             // [n] token ids (int64, like torch.long)
//   e.tokens;          // [n] vocabulary strings: "[CLS]", "hello", "##s", "Ġworld"
//   e.char_offsets;    // [n] (begin, end) in Unicode code points of the text the token came
//                      //     from: what HF's Python `encoding.offsets` reports
//   e.offsets;         // [n] the same spans in bytes of that UTF-8 text (whole characters)
//   e.attention_mask;  // [n] 1 for tokens, 0 for padding
//   e.type_ids;        // [n] segment ids: 0 first text, 1 the pair (as the post-processor says)
//   e.special_tokens_mask;  // [n] 1 for tokens the post-processor added and for padding
//   e.sequence_ids;    // [n] 0 first text, 1 pair, -1 special token or padding
//   e.word_ids;        // [n] which pre-tokenizer word of its text, -1 special token or padding
//
//   auto pair = tok.encode("Where is it?", "It is here.", attnhook::EncodeOptions()
//       .max_length(16)                  // default 0: no length
//       .truncation(true)                // default false: cut to max_length
//       .padding_to_max_length(true));   // default false: pad to max_length
//
// tokenizer.json (the file `tokenizers` writes with Tokenizer.save, shipped with most
// models) is read completely; the result is what `Tokenizer.from_file(path).encode(text,
// pair, add_special_tokens)` returns in Python (tokenizers 0.23.3, the version the tests
// compare against), ids, tokens, offsets, masks, type, word and sequence ids alike. Supported:
//   models           WordPiece, BPE (byte-level or not: merges, ignore_merges, unk_token,
//                    fuse_unk, byte_fallback, continuing_subword_prefix, end_of_word_suffix;
//                    dropout must be null or 0), WordLevel
//   normalizers      BertNormalizer, Lowercase, NFC, NFD, NFKC, NFKD, StripAccents, Strip,
//                    Replace, Prepend, Sequence
//   pre-tokenizers   BertPreTokenizer, ByteLevel, Split (string or regex patterns, every
//                    behavior, invert), Whitespace, WhitespaceSplit, Punctuation, Digits,
//                    Metaspace, CharDelimiterSplit, Sequence
//   post-processors  BertProcessing, RobertaProcessing, TemplateProcessing, ByteLevel, Sequence
//   added_tokens     special and normal, with single_word, lstrip, rstrip and normalized
//   truncation, padding: the file's own sections, or EncodeOptions below.
// Anything else in the file (an unknown "type" such as the Unigram model or the
// Precompiled normalizer of T5/ALBERT files, a BPE with dropout) is an attnhook::Error
// naming the type and the supported ones: nothing is silently skipped. The decoder is not
// used (encoding never needs it). Not supported: pre-tokenized input, stride/overflowing
// windows, batch padding ("BatchLongest" pads one text to its own length).
// Regexes (Split, GPT-2's and Llama-3's pre-tokenizer patterns) follow Oniguruma, as
// `tokenizers` does: \s is Unicode White_Space, lookaheads work. GPT-2's and Llama-3's
// patterns run as hand-written matchers; any other pattern runs with ICU's regex engine.
// Unicode (normalisation, character classes, case) comes from ICU, asked as HF's Rust
// crates would answer: BERT's punctuation/control/accent tests and the NFx/StripAccents
// data are frozen at Unicode 8.0/9.0 there, and so they are here. The one known
// difference: characters new in Unicode 16.0 (2024), which Debian's ICU 72 does not know.
//
// SentencePiece .model files (T5, Llama-2, ...) are tokenized by libsentencepiece; the
// file holds no post-processor, so LoadOptions says which of <s> / </s> to add.
// libsentencepiece comes with libattnhook_sentencepiece.so, a shim installed beside
// libattnhook_text and loaded from there with the first .model (RTLD_LOCAL |
// RTLD_DEEPBIND): its symbols stay out of the process's global scope, so the tokenizer and
// LibTorch (whose libc10 exports a FLAGS_minloglevel of its own) share a process in either
// load order. A missing shim is an Error naming the path it was looked for at. Under a
// sanitizer runtime (which refuses RTLD_DEEPBIND) the shim loads RTLD_LOCAL only, and a
// .model loaded after a LibTorch exporting FLAGS_minloglevel (the torch wheel's) is an
// Error. A program that links libsentencepiece itself puts it in the global scope again.
//
// Errors are attnhook::Error naming the file: a missing or unreadable file, text that is
// not JSON (with line and column), an unknown or malformed component (naming its JSON
// path, e.g. "model.type"), bad options (max_length smaller than the special tokens,
// padding with no pad token). from_json_text never crashes on garbage: it throws.
//
// A Tokenizer is immutable after loading; copies share it, and encode may run on many
// threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attnhook {

namespace detail {
class TokenizerImpl;
}

// (begin, end), end exclusive. Special tokens and padding have (0, 0), as in HF.
using Offsets = std::pair<std::size_t, std::size_t>;

struct Encoding {
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;
  std::vector<Offsets> char_offsets;  // code points of the text (HF's Python offsets); the
                                      // text is the pair where sequence_ids says 1
  std::vector<Offsets> offsets;       // char_offsets in bytes of that UTF-8 text
  std::vector<int64_t> attention_mask;
  std::vector<int64_t> type_ids;
  std::vector<int> special_tokens_mask;
  std::vector<int> sequence_ids;  // 0, 1, or -1 (HF: None)
  std::vector<int> word_ids;      // -1 = HF's None

  std::size_t size() const { return ids.size(); }
};

// Which end truncation cuts and padding fills.
enum class Side { kRight, kLeft };

// HF's truncation strategies. kLongestFirst shortens the longer of text and pair first;
// kOnlyFirst / kOnlySecond cut one of them (an error if it cannot get short enough).
enum class TruncationStrategy { kLongestFirst, kOnlyFirst, kOnlySecond };

// What one encode call adds on top of the file:
//   attnhook::EncodeOptions()
//       .add_special_tokens(true)       // default true: the post-processor's [CLS] … [SEP]
//       .max_length(0)                  // default 0: none. Counts special tokens
//       .truncation(false)              // default false: cut to max_length (needs it > 0)
//       .truncation_strategy(attnhook::TruncationStrategy::kLongestFirst)  // default
//       .truncation_side(attnhook::Side::kRight)    // default kRight: keep the beginning
//       .padding_to_max_length(false)   // default false: pad to max_length (needs it > 0)
//       .pad_to_multiple_of(0)          // default 0: none; else round the padded length up
//       .padding_side(attnhook::Side::kRight)       // default kRight: padding at the end
//       .pad_token("")                  // default "": the file's padding.pad_token, else
//                                       //   "[PAD]", "<pad>" (or SentencePiece's pad piece)
//                                       //   when in the vocabulary; none is an error
//       .file_defaults(true);           // default true: the file's own "truncation" and
//                                       //   "padding" sections apply where truncation /
//                                       //   padding_to_max_length are not requested here
// A text longer than max_length without truncation(true) is returned whole: the caller
// decides whether that is an error (the model's positions) or fine.
struct EncodeOptions {
  EncodeOptions& add_special_tokens(bool value) {
    add_special_tokens_ = value;
    return *this;
  }
  EncodeOptions& max_length(std::size_t value) {
    max_length_ = value;
    return *this;
  }
  EncodeOptions& truncation(bool value) {
    truncation_ = value;
    return *this;
  }
  EncodeOptions& truncation_strategy(TruncationStrategy value) {
    truncation_strategy_ = value;
    return *this;
  }
  EncodeOptions& truncation_side(Side value) {
    truncation_side_ = value;
    return *this;
  }
  EncodeOptions& padding_to_max_length(bool value) {
    padding_to_max_length_ = value;
    return *this;
  }
  EncodeOptions& pad_to_multiple_of(std::size_t value) {
    pad_to_multiple_of_ = value;
    return *this;
  }
  EncodeOptions& padding_side(Side value) {
    padding_side_ = value;
    return *this;
  }
  EncodeOptions& pad_token(std::string value) {
    pad_token_ = std::move(value);
    return *this;
  }
  EncodeOptions& file_defaults(bool value) {
    file_defaults_ = value;
    return *this;
  }

  bool add_special_tokens() const { return add_special_tokens_; }
  std::size_t max_length() const { return max_length_; }
  bool truncation() const { return truncation_; }
  TruncationStrategy truncation_strategy() const { return truncation_strategy_; }
  Side truncation_side() const { return truncation_side_; }
  bool padding_to_max_length() const { return padding_to_max_length_; }
  std::size_t pad_to_multiple_of() const { return pad_to_multiple_of_; }
  Side padding_side() const { return padding_side_; }
  const std::string& pad_token() const { return pad_token_; }
  bool file_defaults() const { return file_defaults_; }

 private:
  bool add_special_tokens_ = true;
  std::size_t max_length_ = 0;
  bool truncation_ = false;
  TruncationStrategy truncation_strategy_ = TruncationStrategy::kLongestFirst;
  Side truncation_side_ = Side::kRight;
  bool padding_to_max_length_ = false;
  std::size_t pad_to_multiple_of_ = 0;
  Side padding_side_ = Side::kRight;
  std::string pad_token_;
  bool file_defaults_ = true;
};

// How to read a file. Only SentencePiece .model files need it; tokenizer.json has its
// own post-processor.
//   attnhook::LoadOptions()
//       .add_bos(false)   // default false: prepend the model's <s> (Llama-2 does)
//       .add_eos(false);  // default false: append the model's </s> (T5 does)
// With a pair, each text gets them: [<s>] A [</s>] [<s>] B [</s>], type ids 0 then 1.
struct LoadOptions {
  LoadOptions& add_bos(bool value) {
    add_bos_ = value;
    return *this;
  }
  LoadOptions& add_eos(bool value) {
    add_eos_ = value;
    return *this;
  }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }

 private:
  bool add_bos_ = false;
  bool add_eos_ = false;
};

class Tokenizer {
 public:
  // A tokenizer.json, or a SentencePiece model (a file that is not JSON and ends in
  // ".model"). The error for a file that is neither names the file and the JSON error.
  static Tokenizer load(const std::string& path, const LoadOptions& options = {});
  // tokenizer.json's content; `name` is what error messages call it.
  static Tokenizer from_json_text(std::string_view json, std::string_view name = "tokenizer.json");
  // A serialized SentencePiece ModelProto (the bytes of a .model file).
  static Tokenizer from_sentencepiece(std::string_view model_proto, const LoadOptions& options = {},
                                      std::string_view name = "sentencepiece model");

  // text and pair are UTF-8; invalid UTF-8 is an error naming the byte offset.
  Encoding encode(std::string_view text, const EncodeOptions& options = {}) const;
  Encoding encode(std::string_view text, std::string_view pair,
                  const EncodeOptions& options = {}) const;

  // Vocabulary, added tokens included (HF's token_to_id / id_to_token / get_vocab_size).
  std::optional<int64_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int64_t id) const;
  std::size_t vocab_size() const;
  // How many tokens the post-processor adds to one text (pair = false) or a pair.
  std::size_t num_special_tokens_to_add(bool pair) const;
  // One line naming the components, e.g. "WordPiece (BertNormalizer, BertPreTokenizer,
  // TemplateProcessing)", for messages and --verbose output.
  std::string describe() const;

 private:
  explicit Tokenizer(std::shared_ptr<const detail::TokenizerImpl> impl);
  std::shared_ptr<const detail::TokenizerImpl> impl_;
};

}  // namespace attnhook
