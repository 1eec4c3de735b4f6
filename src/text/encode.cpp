// One encode call, in HF's order: each text through added tokens, normalizer,
// pre-tokenizer and model; then truncation, the post-processor, padding.
#include <fmt/format.h>

#include <algorithm>

#include "attnhook/error.h"
#include "text/tokenizer_impl.h"

namespace attnhook::detail {

using text::ByteRange;
using text::WorkEncoding;

namespace {

// A file or option asking for more padding than any model has positions for is a mistake
// (and would exhaust memory): refused.
constexpr std::size_t kMaxPaddedLength = std::size_t{1} << 24;

// HF's BytesToCharOffsetConverter, quirks included: an end inside the text maps to the
// char containing it; a start at the very end is left in bytes.
Offsets to_char_offsets(const std::vector<std::size_t>& char_index, Offsets bytes) {
  std::size_t n = char_index.size();
  if (bytes.first >= n) return bytes;
  std::size_t start = char_index[bytes.first];
  if (bytes.second < n) return {start, char_index[bytes.second]};
  std::size_t last =
      bytes.second >= 1 && bytes.second - 1 < n ? char_index[bytes.second - 1] : start + 1;
  return {start, last + 1};
}

// Byte offset of every code point of `text`, and of its end.
std::vector<std::size_t> char_starts(std::string_view text) {
  std::vector<std::size_t> starts;
  starts.reserve(text.size() + 1);
  for (std::size_t i = 0; i < text.size();) {
    starts.push_back(i);
    text::next_char(text, i);
  }
  starts.push_back(text.size());
  return starts;
}

void check_utf8(std::string_view text, const char* which) {
  std::size_t bad = text::find_invalid_utf8(text);
  if (bad != std::string_view::npos) {
    throw Error(fmt::format("the {} is not valid UTF-8: bad byte 0x{:02X} at byte offset {}", which,
                            static_cast<unsigned char>(text[bad]), bad));
  }
}

void truncate_pair(WorkEncoding& a, WorkEncoding* b, const text::TruncationParams& params) {
  std::size_t total = a.size() + (b ? b->size() : 0);
  if (params.max_length == 0) {
    a.truncate(0, params.side);
    if (b) b->truncate(0, params.side);
    return;
  }
  if (total <= params.max_length) return;
  std::size_t to_remove = total - params.max_length;
  if (params.strategy == TruncationStrategy::kLongestFirst) {
    if (b == nullptr) {
      a.truncate(total - to_remove, params.side);
      return;
    }
    std::size_t n1 = a.size(), n2 = b->size();
    bool swap = n1 > n2;
    if (swap) std::swap(n1, n2);
    n2 = n1 > params.max_length ? n1 : std::max(n1, params.max_length - n1);
    if (n1 + n2 > params.max_length) {
      n1 = params.max_length / 2;
      n2 = n1 + params.max_length % 2;
    }
    if (swap) std::swap(n1, n2);
    a.truncate(n1, params.side);
    b->truncate(n2, params.side);
    return;
  }
  bool first = params.strategy == TruncationStrategy::kOnlyFirst;
  if (!first && b == nullptr) {
    throw Error("truncation only_second needs a pair: the second text is missing");
  }
  WorkEncoding& target = first ? a : *b;
  if (target.size() <= to_remove) {
    throw Error(fmt::format(
        "truncation {} cannot reach max_length {}: the {} text has {} tokens, {} must go",
        first ? "only_first" : "only_second", params.max_length, first ? "first" : "second",
        target.size(), to_remove));
  }
  target.truncate(target.size() - to_remove, params.side);
}

}  // namespace

WorkEncoding TokenizerImpl::encode_sequence(std::string_view input, int64_t type_id) const {
  if (sentencepiece) return sentencepiece->encode(input, type_id);
  text::PreTokenizedString pieces = added.extract_and_normalize(input, normalizer.get());
  if (pre_tokenizer) pre_tokenizer->pre_tokenize(pieces);
  try {
    for (text::Split& split : pieces.splits) {
      if (!split.tokens) split.tokens = model->tokenize(split.normalized.get());
    }
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", name, e.what()));
  }
  std::vector<std::size_t> char_index = text::byte_to_char_index(input);
  WorkEncoding w;
  Encoding& e = w.e;
  for (std::size_t word = 0; word < pieces.splits.size(); ++word) {
    const text::Split& split = pieces.splits[word];
    std::size_t shift = split.normalized.original_shift();
    for (const text::Token& token : *split.tokens) {
      ByteRange original;
      Offsets bytes = split.normalized.to_original(token.offsets, &original)
                          ? Offsets{shift + original.first, shift + original.second}
                          : Offsets{token.offsets.first, token.offsets.second};
      e.ids.push_back(token.id);
      e.tokens.push_back(token.value);
      e.offsets.push_back(bytes);
      e.char_offsets.push_back(to_char_offsets(char_index, bytes));
      e.attention_mask.push_back(1);
      e.type_ids.push_back(type_id);
      e.special_tokens_mask.push_back(0);
      e.sequence_ids.push_back(-1);
      e.word_ids.push_back(static_cast<int>(word));
    }
  }
  return w;
}

text::PaddingParams TokenizerImpl::resolve_padding(const EncodeOptions& options) const {
  text::PaddingParams params;
  if (file_padding) params = *file_padding;
  params.fixed_length = options.max_length();
  params.side = options.padding_side();
  params.multiple_of = options.pad_to_multiple_of();
  std::string token = options.pad_token();
  if (token.empty() && file_padding) token = file_padding->pad_token;
  if (token.empty() && sentencepiece) token = sentencepiece->pad_token().value_or("");
  if (token.empty()) {
    for (const char* candidate : {"[PAD]", "<pad>"}) {
      if (token_to_id(candidate)) {
        token = candidate;
        break;
      }
    }
  }
  if (token.empty()) {
    throw Error(fmt::format(
        "{} has no pad token (no padding section, no [PAD] or <pad> in the vocabulary): "
        "name one with EncodeOptions().pad_token(...)",
        name));
  }
  std::optional<int64_t> id = token_to_id(token);
  if (!id) throw Error(fmt::format("pad token '{}' is not in the vocabulary of {}", token, name));
  params.pad_token = token;
  params.pad_id = *id;
  return params;
}

Encoding TokenizerImpl::encode(std::string_view input, const std::string_view* pair,
                               const EncodeOptions& options) const {
  check_utf8(input, "text");
  if (pair) check_utf8(*pair, "pair text");
  if ((options.truncation() || options.padding_to_max_length()) && options.max_length() == 0) {
    throw Error(fmt::format("{} needs max_length > 0",
                            options.truncation() ? "truncation" : "padding to max_length"));
  }
  std::vector<WorkEncoding> encodings;
  encodings.push_back(encode_sequence(input, 0));
  if (pair) encodings.push_back(encode_sequence(*pair, 1));
  bool is_pair = pair != nullptr;

  std::optional<text::TruncationParams> truncation;
  if (options.truncation()) {
    truncation = text::TruncationParams{options.max_length(), options.truncation_strategy(),
                                        options.truncation_side()};
  } else if (options.file_defaults()) {
    truncation = file_truncation;
  }
  if (truncation) {
    std::size_t added_count =
        options.add_special_tokens() && post_processor ? post_processor->added_tokens(is_pair) : 0;
    if (truncation->max_length < added_count) {
      throw Error(fmt::format("max_length {} is smaller than the {} special tokens {} adds",
                              truncation->max_length, added_count, post_processor->type()));
    }
    text::TruncationParams params = *truncation;
    params.max_length -= added_count;
    truncate_pair(encodings[0], is_pair ? &encodings[1] : nullptr, params);
  }

  WorkEncoding result;
  if (post_processor) {
    for (std::size_t i = 0; i < encodings.size(); ++i) {
      encodings[i].set_sequence_id(static_cast<int>(i));
      encodings[i].set_type_ids(static_cast<int64_t>(i));
    }
    for (const WorkEncoding& piece :
         post_processor->process_encodings(std::move(encodings), options.add_special_tokens())) {
      result.append(piece);
    }
  } else {
    if (is_pair) {
      encodings[0].set_sequence_id(0);
      encodings[1].set_sequence_id(1);
    }
    for (const WorkEncoding& piece : encodings) result.append(piece);
  }

  std::optional<text::PaddingParams> padding;
  if (options.padding_to_max_length()) {
    padding = resolve_padding(options);
  } else if (options.file_defaults()) {
    padding = file_padding;
  }
  if (padding) {
    std::size_t length = padding->fixed_length.value_or(result.size());
    if (length > kMaxPaddedLength || padding->multiple_of > kMaxPaddedLength) {
      throw Error(
          fmt::format("padding to {} tokens (multiple of {}) is beyond attnhook's limit of {}",
                      length, padding->multiple_of, kMaxPaddedLength));
    }
    if (padding->multiple_of > 0 && length % padding->multiple_of != 0) {
      length += padding->multiple_of - length % padding->multiple_of;
    }
    result.pad(length, padding->pad_id, padding->pad_type_id, padding->pad_token, padding->side);
  }
  // With no sequence range set anywhere, HF reports sequence 0 for every token.
  Encoding& e = result.e;
  if (!result.has_ranges) std::fill(e.sequence_ids.begin(), e.sequence_ids.end(), 0);
  // Byte offsets are the code point offsets in bytes of their text, so that they always
  // cover whole characters (HF's byte-mode trimming can end one inside a character).
  std::vector<std::size_t> text_starts = char_starts(input);
  std::vector<std::size_t> pair_starts = pair ? char_starts(*pair) : std::vector<std::size_t>{0};
  for (std::size_t i = 0; i < e.size(); ++i) {
    const std::vector<std::size_t>& starts = e.sequence_ids[i] == 1 ? pair_starts : text_starts;
    auto to_byte = [&](std::size_t c) { return starts[std::min(c, starts.size() - 1)]; };
    e.offsets[i] = {to_byte(e.char_offsets[i].first), to_byte(e.char_offsets[i].second)};
  }
  return std::move(e);
}

std::optional<int64_t> TokenizerImpl::token_to_id(std::string_view token) const {
  if (sentencepiece) return sentencepiece->token_to_id(token);
  if (auto id = added.token_to_id(token)) return id;
  return model->token_to_id(token);
}

std::optional<std::string> TokenizerImpl::id_to_token(int64_t id) const {
  if (sentencepiece) return sentencepiece->id_to_token(id);
  if (auto token = added.id_to_token(id)) return token;
  return model->id_to_token(id);
}

std::size_t TokenizerImpl::vocab_size() const {
  if (sentencepiece) return sentencepiece->vocab_size();
  std::size_t n = model->vocab_size();
  for (const text::AddedToken& t : added.tokens()) {
    if (!model->token_to_id(t.content)) ++n;
  }
  return n;
}

}  // namespace attnhook::detail
