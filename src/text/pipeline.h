// The stages of a tokenizer.json pipeline, as `tokenizers` runs them on one text:
//   added tokens split off -> Normalizer -> PreTokenizer -> Model -> (per text) Encoding
// and then, on one or two Encodings, truncation -> PostProcessor -> padding
// (post_process.h). Each stage is an interface with one implementation per JSON "type".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attnhook/tokenizer.h"
#include "text/normalized_string.h"

namespace attnhook::text {

// A model's output for one word: offsets are bytes of the word's normalized string.
struct Token {
  int64_t id;
  std::string value;
  ByteRange offsets;
};

struct Split {
  NormalizedString normalized;
  std::optional<std::vector<Token>> tokens;  // set for added tokens and after the model
};

// The text cut into pieces that remember where they came from (HF's PreTokenizedString).
struct PreTokenizedString {
  explicit PreTokenizedString(std::string_view text) : original(text) {
    splits.push_back({NormalizedString(text), std::nullopt});
  }

  // Replaces every split without tokens by what `fn(index, piece)` returns (a vector of
  // NormalizedString or of Split); empty pieces are dropped, as HF does.
  template <typename Fn>
  void split(Fn fn) {
    std::vector<Split> next;
    next.reserve(splits.size());
    for (std::size_t i = 0; i < splits.size(); ++i) {
      if (splits[i].tokens) {
        next.push_back(std::move(splits[i]));
        continue;
      }
      for (auto& piece : fn(i, std::move(splits[i].normalized))) {
        Split s = to_split(std::move(piece));
        if (!s.normalized.empty()) next.push_back(std::move(s));
      }
    }
    splits = std::move(next);
  }

  template <typename Fn>
  void normalize(Fn fn) {
    for (Split& s : splits) {
      if (!s.tokens) fn(s.normalized);
    }
  }

  std::string original;
  std::vector<Split> splits;

 private:
  static Split to_split(NormalizedString&& n) { return {std::move(n), std::nullopt}; }
  static Split to_split(Split&& s) { return std::move(s); }
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString& text) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(PreTokenizedString& text) const = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::vector<Token> tokenize(std::string_view word) const = 0;
  virtual std::optional<int64_t> token_to_id(std::string_view token) const = 0;
  virtual std::optional<std::string> id_to_token(int64_t id) const = 0;
  virtual std::size_t vocab_size() const = 0;
  virtual const char* type() const = 0;
};

// One text or pair on its way through post-processing: HF's Encoding. sequence_ids holds
// -1 for tokens outside every sequence range; has_ranges is false while no range was set
// (HF then reports sequence 0 for every token).
struct WorkEncoding {
  Encoding e;
  bool has_ranges = false;

  std::size_t size() const { return e.ids.size(); }
  void set_sequence_id(int id);
  void set_type_ids(int64_t type_id);
  void append(const WorkEncoding& other);
  void truncate(std::size_t max_length, Side side);
  void pad(std::size_t length, int64_t pad_id, int64_t pad_type_id, const std::string& pad_token,
           Side side);
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual std::size_t added_tokens(bool is_pair) const = 0;
  // HF's process_encodings: one entry per text in, any number of pieces out.
  virtual std::vector<WorkEncoding> process_encodings(std::vector<WorkEncoding> encodings,
                                                      bool add_special_tokens) const = 0;
  virtual const char* type() const = 0;
};

// Shared by the ByteLevel and Roberta post-processors: offsets stop at the word, not at
// the space byte-level BPE glues to its front (HF's process_offsets).
void trim_byte_level_offsets(Encoding& e, bool add_prefix_space);

}  // namespace attnhook::text
