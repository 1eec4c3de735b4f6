// What a loaded tokenizer is: a tokenizer.json pipeline, or a SentencePiece model with
// the same post-processing (truncation, special tokens, padding) around it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attnhook/tokenizer.h"
#include "text/added_vocabulary.h"
#include "text/pipeline.h"

namespace attnhook::text {

struct TruncationParams {
  std::size_t max_length = 0;
  TruncationStrategy strategy = TruncationStrategy::kLongestFirst;
  Side side = Side::kRight;
};

struct PaddingParams {
  std::optional<std::size_t> fixed_length;  // none: BatchLongest (one text: its own length)
  Side side = Side::kRight;
  std::size_t multiple_of = 0;
  int64_t pad_id = 0;
  int64_t pad_type_id = 0;
  std::string pad_token = "[PAD]";
};

// Text to tokens for one text, before post-processing, when the pipeline is not
// tokenizer.json's (SentencePiece).
class SequenceEncoder {
 public:
  virtual ~SequenceEncoder() = default;
  virtual WorkEncoding encode(std::string_view text, int64_t type_id) const = 0;
  virtual std::optional<int64_t> token_to_id(std::string_view token) const = 0;
  virtual std::optional<std::string> id_to_token(int64_t id) const = 0;
  virtual std::size_t vocab_size() const = 0;
  virtual std::optional<std::string> pad_token() const = 0;
};

}  // namespace attnhook::text

namespace attnhook::detail {

class TokenizerImpl {
 public:
  std::string name;  // the file, for messages
  std::vector<std::string> component_names;
  std::unique_ptr<text::Normalizer> normalizer;
  std::unique_ptr<text::PreTokenizer> pre_tokenizer;
  std::unique_ptr<text::Model> model;
  std::unique_ptr<text::PostProcessor> post_processor;
  text::AddedVocabulary added;
  std::unique_ptr<text::SequenceEncoder> sentencepiece;  // set instead of the pipeline above
  std::optional<text::TruncationParams> file_truncation;
  std::optional<text::PaddingParams> file_padding;

  Encoding encode(std::string_view text, const std::string_view* pair,
                  const EncodeOptions& options) const;
  std::optional<int64_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int64_t id) const;
  std::size_t vocab_size() const;

 private:
  text::WorkEncoding encode_sequence(std::string_view text, int64_t type_id) const;
  text::PaddingParams resolve_padding(const EncodeOptions& options) const;
};

std::shared_ptr<const TokenizerImpl> load_tokenizer_json(std::string_view json,
                                                         std::string_view name);
std::shared_ptr<const TokenizerImpl> load_sentencepiece(std::string_view proto,
                                                        const LoadOptions& options,
                                                        std::string_view name);

}  // namespace attnhook::detail
