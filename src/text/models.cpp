// tokenizer.json "model": WordPiece, BPE and WordLevel, as `tokenizers` defines them.
#include <fmt/format.h>

#include <deque>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "attnhook/error.h"
#include "text/components.h"

namespace attnhook::text {
namespace {

// Token -> id keyed by string_view into `storage`, so look-ups of candidate pieces need no
// allocation (the hottest operation of WordPiece and BPE). A deque never moves its
// elements, also not when the Vocab itself is moved.
struct Vocab {
  std::deque<std::string> storage;
  std::unordered_map<std::string_view, int64_t> ids;
  std::unordered_map<int64_t, std::string_view> tokens;  // an id shared by two: the last read

  Vocab() = default;
  Vocab(const Vocab&) = delete;
  Vocab(Vocab&&) = default;

  std::optional<int64_t> find(std::string_view token) const {
    auto it = ids.find(token);
    if (it == ids.end()) return std::nullopt;
    return it->second;
  }
};

Vocab read_vocab(const Json& spec, const std::string& path) {
  std::string vocab_path = join_path(path, "vocab");
  const Json& vocab = require_object(require_field(spec, "vocab", path), vocab_path);
  Vocab v;
  v.ids.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    int64_t value = as_id(id, vocab_path + "[\"" + token + "\"]");
    std::string_view stored = v.storage.emplace_back(token);
    v.ids[stored] = value;
    v.tokens[value] = stored;
  }
  return v;
}

class VocabModel : public Model {
 public:
  explicit VocabModel(Vocab vocab) : vocab_(std::move(vocab)) {}
  std::optional<int64_t> token_to_id(std::string_view token) const override {
    return vocab_.find(token);
  }
  std::optional<std::string> id_to_token(int64_t id) const override {
    auto it = vocab_.tokens.find(id);
    if (it == vocab_.tokens.end()) return std::nullopt;
    return std::string(it->second);
  }
  std::size_t vocab_size() const override { return vocab_.ids.size(); }

 protected:
  int64_t require_unk(const std::string& unk, const char* model, std::string_view word) const {
    auto id = vocab_.find(unk);
    if (!id) {
      throw Error(fmt::format("the {} vocabulary has no unknown token '{}', which '{}' needs",
                              model, unk, word));
    }
    return *id;
  }
  Vocab vocab_;
};

// Greedy longest-match-first (BERT): the longest vocabulary entry that starts the rest
// of the word, "##"-prefixed after the first; a word with no such split is one [UNK].
class WordPieceModel : public VocabModel {
 public:
  WordPieceModel(Vocab vocab, std::string unk, std::string prefix, std::size_t max_chars)
      : VocabModel(std::move(vocab)),
        unk_(std::move(unk)),
        prefix_(std::move(prefix)),
        max_chars_(max_chars) {}

  std::vector<Token> tokenize(std::string_view word) const override {
    if (count_chars(word) > max_chars_) return unknown(word);
    // Char boundaries, to shorten candidates one char at a time.
    std::vector<std::size_t> bounds;
    for (std::size_t i = 0; i < word.size();) {
      bounds.push_back(i);
      next_char(word, i);
    }
    bounds.push_back(word.size());
    std::vector<Token> pieces;
    std::string candidate;
    std::size_t start = 0;  // index into bounds
    while (start + 1 < bounds.size()) {
      bool found = false;
      for (std::size_t end = bounds.size() - 1; end > start; --end) {
        candidate.clear();
        if (start > 0) candidate = prefix_;
        candidate.append(word.substr(bounds[start], bounds[end] - bounds[start]));
        if (auto id = vocab_.find(candidate)) {
          pieces.push_back({*id, candidate, {bounds[start], bounds[end]}});
          start = end;
          found = true;
          break;
        }
      }
      if (!found) return unknown(word);
    }
    return pieces;
  }
  const char* type() const override { return "WordPiece"; }

 private:
  std::vector<Token> unknown(std::string_view word) const {
    return {{require_unk(unk_, "WordPiece", word), unk_, {0, word.size()}}};
  }
  std::string unk_;
  std::string prefix_;
  std::size_t max_chars_;
};

class WordLevelModel : public VocabModel {
 public:
  WordLevelModel(Vocab vocab, std::string unk)
      : VocabModel(std::move(vocab)), unk_(std::move(unk)) {}
  std::vector<Token> tokenize(std::string_view word) const override {
    if (auto id = vocab_.find(word)) return {{*id, std::string(word), {0, word.size()}}};
    return {{require_unk(unk_, "WordLevel", word), unk_, {0, word.size()}}};
  }
  const char* type() const override { return "WordLevel"; }

 private:
  std::string unk_;
};

struct BpeOptions {
  std::optional<std::string> unk;
  std::optional<std::string> prefix;  // continuing_subword_prefix
  std::optional<std::string> suffix;  // end_of_word_suffix
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel : public VocabModel {
 public:
  struct Merge {
    uint32_t rank;
    int64_t new_id;
  };

  BpeModel(Vocab vocab, std::unordered_map<uint64_t, Merge> merges, BpeOptions options)
      : VocabModel(std::move(vocab)), merges_(std::move(merges)), options_(std::move(options)) {}

  static uint64_t key(int64_t a, int64_t b) {
    return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
  }

  std::vector<Token> tokenize(std::string_view word) const override {
    if (word.empty()) return {};
    if (options_.ignore_merges) {
      if (auto id = vocab_.find(word)) return {{*id, std::string(word), {0, word.size()}}};
    }
    std::vector<Symbol> symbols = initial_symbols(word);
    merge_all(symbols);
    std::vector<Token> tokens;
    std::size_t pos = 0;
    for (const Symbol& s : symbols) {
      if (s.len == 0) continue;
      tokens.push_back({s.id, std::string(vocab_.tokens.at(s.id)), {pos, pos + s.len}});
      pos += s.len;
    }
    return tokens;
  }
  const char* type() const override { return "BPE"; }

 private:
  struct Symbol {
    int64_t id;
    std::ptrdiff_t prev, next;
    std::size_t len;  // bytes of the word it covers; 0 once merged into its left neighbour
  };

  static void add(std::vector<Symbol>& symbols, int64_t id, std::size_t len) {
    std::ptrdiff_t n = static_cast<std::ptrdiff_t>(symbols.size());
    if (!symbols.empty()) symbols.back().next = n;
    symbols.push_back({id, n - 1, -1, len});
  }

  std::vector<Symbol> initial_symbols(std::string_view word) const {
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    // The pending unknown token (fuse_unk grows it); like HF, it is added only when a
    // known char or the end comes, so byte-fallback tokens can precede it.
    bool unk = false;
    int64_t unk_id = 0;
    std::size_t unk_len = 0;
    std::string piece;
    for (std::size_t i = 0; i < word.size();) {
      std::size_t start = i;
      next_char(word, i);
      std::size_t len = i - start;
      piece.clear();
      if (start > 0 && options_.prefix) piece = *options_.prefix;
      piece.append(word.substr(start, len));
      if (i == word.size() && options_.suffix) piece += *options_.suffix;
      if (auto id = vocab_.find(piece)) {
        if (unk) add(symbols, unk_id, unk_len);
        unk = false;
        add(symbols, *id, len);
        continue;
      }
      if (options_.byte_fallback) {
        std::vector<int64_t> bytes;
        for (unsigned char b : piece) {
          auto id = vocab_.find(fmt::format("<0x{:02X}>", b));
          if (!id) break;
          bytes.push_back(*id);
        }
        if (bytes.size() == piece.size()) {
          for (int64_t id : bytes) add(symbols, id, 1);
          continue;
        }
      }
      if (options_.unk) {
        if (unk && options_.fuse_unk) {
          unk_len += len;
        } else {
          if (unk) add(symbols, unk_id, unk_len);
          auto id = vocab_.find(*options_.unk);
          if (!id) {
            throw Error(
                fmt::format("the BPE vocabulary has no unknown token '{}', which '{}' needs",
                            *options_.unk, word));
          }
          unk = true;
          unk_id = *id;
          unk_len = len;
        }
      }
    }
    if (unk) add(symbols, unk_id, unk_len);
    return symbols;
  }

  // HF's Word::merge_all: the lowest-ranked pair first, the leftmost among equals.
  void merge_all(std::vector<Symbol>& symbols) const {
    struct Candidate {
      std::size_t pos;
      uint32_t rank;
      int64_t new_id;
      bool operator<(const Candidate& o) const {  // priority_queue pops the largest
        return rank != o.rank ? rank > o.rank : pos > o.pos;
      }
    };
    std::priority_queue<Candidate> queue;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto it = merges_.find(key(symbols[i].id, symbols[i + 1].id));
      if (it != merges_.end()) queue.push({i, it->second.rank, it->second.new_id});
    }
    while (!queue.empty()) {
      Candidate top = queue.top();
      queue.pop();
      Symbol& current = symbols[top.pos];
      if (current.len == 0 || current.next == -1) continue;
      std::size_t next_pos = static_cast<std::size_t>(current.next);
      Symbol right = symbols[next_pos];
      auto it = merges_.find(key(current.id, right.id));
      if (it == merges_.end() || it->second.new_id != top.new_id) continue;  // stale entry
      current.id = top.new_id;
      current.len += right.len;
      current.next = right.next;
      symbols[next_pos].len = 0;
      if (right.next > -1 && static_cast<std::size_t>(right.next) < symbols.size()) {
        symbols[static_cast<std::size_t>(right.next)].prev = static_cast<std::ptrdiff_t>(top.pos);
      }
      if (current.prev >= 0) {
        std::size_t prev = static_cast<std::size_t>(current.prev);
        auto p = merges_.find(key(symbols[prev].id, current.id));
        if (p != merges_.end()) queue.push({prev, p->second.rank, p->second.new_id});
      }
      if (current.next >= 0 && static_cast<std::size_t>(current.next) < symbols.size()) {
        auto n = merges_.find(key(current.id, symbols[static_cast<std::size_t>(current.next)].id));
        if (n != merges_.end()) queue.push({top.pos, n->second.rank, n->second.new_id});
      }
    }
  }

  std::unordered_map<uint64_t, Merge> merges_;
  BpeOptions options_;
};

std::unique_ptr<Model> make_bpe(const Json& spec, const std::string& path) {
  Vocab vocab = read_vocab(spec, path);
  for (const auto& [token, id] : vocab.ids) {
    if (id > UINT32_MAX) throw_field_error(join_path(path, "vocab"), "has an id above 2^32");
  }
  BpeOptions options;
  options.unk = get_optional_string(spec, "unk_token", path);
  options.prefix = get_optional_string(spec, "continuing_subword_prefix", path);
  options.suffix = get_optional_string(spec, "end_of_word_suffix", path);
  options.fuse_unk = get_bool(spec, "fuse_unk", path, false);
  options.byte_fallback = get_bool(spec, "byte_fallback", path, false);
  options.ignore_merges = get_bool(spec, "ignore_merges", path, false);
  if (const Json* dropout = optional_field(spec, "dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      throw_field_error(join_path(path, "dropout"),
                        "is " +
                            (dropout->is_number() ? dropout->dump() : json_type_name(*dropout)) +
                            ": BPE dropout is random and not supported (null or 0 only)");
    }
  }
  std::string merges_path = join_path(path, "merges");
  const Json& merges = require_array(require_field(spec, "merges", path), merges_path);
  std::size_t prefix_length = options.prefix ? options.prefix->size() : 0;
  std::unordered_map<uint64_t, BpeModel::Merge> merge_map;
  merge_map.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    std::string where = merges_path + "[" + std::to_string(i) + "]";
    std::string a, b;
    if (merges[i].is_string()) {
      std::string line = merges[i].get<std::string>();
      std::size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        throw_field_error(where, "'" + line + "' is not two tokens separated by one space");
      }
      a = line.substr(0, space);
      b = line.substr(space + 1);
    } else if (merges[i].is_array() && merges[i].size() == 2) {
      a = as_string(merges[i][0], where + "[0]");
      b = as_string(merges[i][1], where + "[1]");
    } else {
      throw_field_error(where, "must be \"a b\" or [\"a\", \"b\"]");
    }
    auto a_id = vocab.find(a);
    auto b_id = vocab.find(b);
    if (!a_id) throw_field_error(where, "uses '" + a + "', which is not in the vocabulary");
    if (!b_id) throw_field_error(where, "uses '" + b + "', which is not in the vocabulary");
    if (b.size() < prefix_length)
      throw_field_error(where, "'" + b + "' is shorter than the prefix");
    std::string merged = a + b.substr(prefix_length);
    auto new_id = vocab.find(merged);
    if (!new_id) throw_field_error(where, "makes '" + merged + "', which is not in the vocabulary");
    merge_map[BpeModel::key(*a_id, *b_id)] = {static_cast<uint32_t>(i), *new_id};
  }
  return std::make_unique<BpeModel>(std::move(vocab), std::move(merge_map), std::move(options));
}

}  // namespace

std::unique_ptr<Model> make_model(const Json& spec, const std::string& path) {
  std::string type;
  if (optional_field(spec, "type") != nullptr) {
    type = get_type(spec, path);
  } else if (optional_field(spec, "merges") != nullptr) {
    type = "BPE";  // files written before models carried a type
  } else {
    throw_field_error(join_path(path, "type"), "is missing");
  }
  if (type == "WordPiece") {
    return std::make_unique<WordPieceModel>(
        read_vocab(spec, path), get_optional_string(spec, "unk_token", path).value_or("[UNK]"),
        get_optional_string(spec, "continuing_subword_prefix", path).value_or("##"),
        static_cast<std::size_t>(get_int_or(spec, "max_input_chars_per_word", path, 100)));
  }
  if (type == "BPE") return make_bpe(spec, path);
  if (type == "WordLevel") {
    return std::make_unique<WordLevelModel>(
        read_vocab(spec, path), get_optional_string(spec, "unk_token", path).value_or("[UNK]"));
  }
  throw_unknown_type(path, type, "WordPiece, BPE, WordLevel (Unigram: load the .model file)");
}

}  // namespace attnhook::text
