// tokenizer.json "added_tokens": tokens matched in the text before the model sees it
// ([CLS] typed by the user, <mask>, <|begin_of_text|>), as `tokenizers`' AddedVocabulary:
// tokens with normalized = false are found in the raw text first, the rest in the
// normalized remainder; matching is leftmost-longest, non-overlapping.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/pipeline.h"

namespace attnhook::text {

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool single_word = false;  // only where no word char touches either side
  bool lstrip = false;       // swallow the whitespace on its left
  bool rstrip = false;       // swallow the whitespace on its right
  bool normalized = true;    // matched in the normalized text (else in the raw text)
  bool special = false;
};

class AddedVocabulary {
 public:
  void build(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  // The text cut at added tokens (those splits carry their token) and normalized.
  PreTokenizedString extract_and_normalize(std::string_view text,
                                           const Normalizer* normalizer) const;

  std::optional<int64_t> token_to_id(std::string_view content) const;
  std::optional<std::string> id_to_token(int64_t id) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // Byte trie of token contents: leftmost-longest search.
  struct Trie {
    struct Node {
      std::unordered_map<unsigned char, int> next;
      int token = -1;  // index into tokens_
    };
    std::vector<Node> nodes{Node{}};
    std::array<int, 256> root_next{};  // root fan-out, -1 = none (fast first-byte rejection)
    bool empty = true;

    Trie() { root_next.fill(-1); }
    void insert(std::string_view key, int token);
    // Longest token starting at text[pos]: (token index, end) or (-1, pos).
    std::pair<int, std::size_t> longest_at(std::string_view text, std::size_t pos) const;
  };

  std::vector<std::pair<ByteRange, int>> find_matches(std::string_view text,
                                                      const Trie& trie) const;
  std::vector<Split> split_with(NormalizedString&& piece, const Trie& trie) const;

  std::vector<AddedToken> tokens_;
  Trie raw_;
  Trie normalized_;
  std::unordered_map<std::string, int64_t> ids_;
  std::unordered_map<int64_t, std::string> contents_;
};

}  // namespace attnhook::text
