#include "text/added_vocabulary.h"

#include <algorithm>

namespace attnhook::text {

void AddedVocabulary::Trie::insert(std::string_view key, int token) {
  if (key.empty()) return;
  empty = false;
  auto first = static_cast<unsigned char>(key[0]);
  if (root_next[first] < 0) {
    root_next[first] = static_cast<int>(nodes.size());
    nodes.emplace_back();
  }
  int node = root_next[first];
  for (std::size_t i = 1; i < key.size(); ++i) {
    auto byte = static_cast<unsigned char>(key[i]);
    auto it = nodes[static_cast<std::size_t>(node)].next.find(byte);
    if (it == nodes[static_cast<std::size_t>(node)].next.end()) {
      int created = static_cast<int>(nodes.size());
      nodes.emplace_back();
      nodes[static_cast<std::size_t>(node)].next.emplace(byte, created);
      node = created;
    } else {
      node = it->second;
    }
  }
  nodes[static_cast<std::size_t>(node)].token = token;
}

std::pair<int, std::size_t> AddedVocabulary::Trie::longest_at(std::string_view text,
                                                              std::size_t pos) const {
  std::pair<int, std::size_t> best{-1, pos};
  int node = root_next[static_cast<unsigned char>(text[pos])];
  std::size_t i = pos + 1;
  while (node >= 0) {
    const Node& n = nodes[static_cast<std::size_t>(node)];
    if (n.token >= 0) best = {n.token, i};
    if (i >= text.size()) break;
    auto it = n.next.find(static_cast<unsigned char>(text[i]));
    if (it == n.next.end()) break;
    node = it->second;
    ++i;
  }
  return best;
}

void AddedVocabulary::build(std::vector<AddedToken> tokens, const Normalizer* normalizer) {
  // Special tokens first, then the others, as HF orders its matchers.
  std::stable_sort(tokens.begin(), tokens.end(), [](const AddedToken& a, const AddedToken& b) {
    return a.special && !b.special;
  });
  tokens_ = std::move(tokens);
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    ids_[t.content] = t.id;
    contents_[t.id] = t.content;
    if (!t.normalized) {
      raw_.insert(t.content, static_cast<int>(i));
    } else {
      NormalizedString content(t.content);
      if (normalizer != nullptr) normalizer->normalize(content);
      normalized_.insert(content.get(), static_cast<int>(i));
    }
  }
}

namespace {

// The last char of `s` is a word char (Rust regex \w$).
bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return is_word_char(next_char(s, i));
}

bool starts_with_word(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = 0;
  return is_word_char(next_char(s, i));
}

// Start of the whitespace run that ends `s` (\s*$).
std::size_t trailing_space_start(std::string_view s) {
  std::size_t end = s.size();
  while (end > 0) {
    std::size_t i = end - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
    std::size_t j = i;
    if (!is_whitespace(next_char(s, j))) break;
    end = i;
  }
  return end;
}

// Length of the whitespace run that starts `s` (^\s*).
std::size_t leading_space_length(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    if (!is_whitespace(next_char(s, j))) break;
    i = j;
  }
  return i;
}

}  // namespace

std::vector<std::pair<ByteRange, int>> AddedVocabulary::find_matches(std::string_view text,
                                                                     const Trie& trie) const {
  std::vector<std::pair<ByteRange, int>> splits;  // token -1 = plain text
  if (text.empty()) return {{{0, 0}, -1}};
  std::size_t start_offset = 0;
  std::size_t pos = 0;
  while (!trie.empty && pos < text.size()) {
    auto [token, end] = trie.longest_at(text, pos);
    if (token < 0) {
      ++pos;
      continue;
    }
    std::size_t start = pos;
    std::size_t stop = end;
    pos = end;  // the search goes on after this match even when it is discarded
    const AddedToken& t = tokens_[static_cast<std::size_t>(token)];
    if (t.single_word) {
      bool start_space = start == 0 || !ends_with_word(text.substr(0, start));
      bool stop_space = stop == text.size() || !starts_with_word(text.substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
    if (t.rstrip) stop += leading_space_length(text.substr(stop));
    if (start_offset < start) splits.push_back({{start_offset, start}, -1});
    splits.push_back({{start, stop}, token});
    start_offset = stop;
  }
  if (start_offset != text.size()) splits.push_back({{start_offset, text.size()}, -1});
  return splits;
}

std::vector<Split> AddedVocabulary::split_with(NormalizedString&& piece, const Trie& trie) const {
  std::vector<Split> splits;
  for (const auto& [range, token] : find_matches(piece.get(), trie)) {
    NormalizedString slice = piece.slice(range);
    if (token < 0) {
      splits.push_back({std::move(slice), std::nullopt});
    } else {
      Token t{tokens_[static_cast<std::size_t>(token)].id, slice.get(), {0, slice.size()}};
      splits.push_back({std::move(slice), std::vector<Token>{std::move(t)}});
    }
  }
  return splits;
}

PreTokenizedString AddedVocabulary::extract_and_normalize(std::string_view text,
                                                          const Normalizer* normalizer) const {
  PreTokenizedString pretokenized(text);
  pretokenized.split(
      [this](std::size_t, NormalizedString&& piece) { return split_with(std::move(piece), raw_); });
  pretokenized.split([this, normalizer](std::size_t, NormalizedString&& piece) {
    if (normalizer != nullptr) normalizer->normalize(piece);
    return split_with(std::move(piece), normalized_);
  });
  return pretokenized;
}

std::optional<int64_t> AddedVocabulary::token_to_id(std::string_view content) const {
  auto it = ids_.find(std::string(content));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> AddedVocabulary::id_to_token(int64_t id) const {
  auto it = contents_.find(id);
  if (it == contents_.end()) return std::nullopt;
  return it->second;
}

}  // namespace attnhook::text
