// tokenizer.json "post_processor": the special tokens around one text or a pair.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "text/components.h"

namespace attnhook::text {
namespace {

// One special token's encoding: offsets (0, 0), no word, no sequence.
WorkEncoding special(const std::vector<int64_t>& ids, const std::vector<std::string>& tokens,
                     int64_t type_id) {
  WorkEncoding w;
  std::size_t n = ids.size();
  w.e.ids = ids;
  w.e.tokens = tokens;
  w.e.offsets.assign(n, {0, 0});
  w.e.char_offsets.assign(n, {0, 0});
  w.e.attention_mask.assign(n, 1);
  w.e.type_ids.assign(n, type_id);
  w.e.special_tokens_mask.assign(n, 1);
  w.e.sequence_ids.assign(n, -1);
  w.e.word_ids.assign(n, -1);
  return w;
}

struct SpecialToken {
  std::string text;
  int64_t id;
};

SpecialToken read_pair_token(const Json& spec, const std::string& key, const std::string& path) {
  std::string where = join_path(path, key);
  const Json& value = require_field(spec, key, path);
  if (!value.is_array() || value.size() != 2) throw_field_error(where, "must be [token, id]");
  return {as_string(value[0], where + "[0]"), as_id(value[1], where + "[1]")};
}

class BertProcessing : public PostProcessor {
 public:
  BertProcessing(SpecialToken sep, SpecialToken cls) : sep_(std::move(sep)), cls_(std::move(cls)) {}
  std::size_t added_tokens(bool is_pair) const override { return is_pair ? 3 : 2; }
  std::vector<WorkEncoding> process_encodings(std::vector<WorkEncoding> encodings,
                                              bool add_special_tokens) const override {
    if (!add_special_tokens) return encodings;
    std::vector<WorkEncoding> out;
    out.push_back(special({cls_.id}, {cls_.text}, 0));
    encodings[0].set_type_ids(0);
    out.push_back(std::move(encodings[0]));
    out.push_back(special({sep_.id}, {sep_.text}, 0));
    if (encodings.size() > 1) {
      encodings[1].set_type_ids(1);
      out.push_back(std::move(encodings[1]));
      out.push_back(special({sep_.id}, {sep_.text}, 1));
    }
    return out;
  }
  const char* type() const override { return "BertProcessing"; }

 private:
  SpecialToken sep_, cls_;
};

class RobertaProcessing : public PostProcessor {
 public:
  RobertaProcessing(SpecialToken sep, SpecialToken cls, bool trim_offsets, bool add_prefix_space)
      : sep_(std::move(sep)),
        cls_(std::move(cls)),
        trim_offsets_(trim_offsets),
        add_prefix_space_(add_prefix_space) {}
  std::size_t added_tokens(bool is_pair) const override { return is_pair ? 4 : 2; }
  std::vector<WorkEncoding> process_encodings(std::vector<WorkEncoding> encodings,
                                              bool add_special_tokens) const override {
    for (WorkEncoding& w : encodings) {
      if (trim_offsets_) trim_byte_level_offsets(w.e, add_prefix_space_);
      w.set_type_ids(0);  // RoBERTa has no segments: every type id is 0
    }
    if (!add_special_tokens) return encodings;
    std::vector<WorkEncoding> out;
    out.push_back(special({cls_.id}, {cls_.text}, 0));
    out.push_back(std::move(encodings[0]));
    out.push_back(special({sep_.id}, {sep_.text}, 0));
    if (encodings.size() > 1) {
      out.push_back(special({sep_.id}, {sep_.text}, 0));
      out.push_back(std::move(encodings[1]));
      out.push_back(special({sep_.id}, {sep_.text}, 0));
    }
    return out;
  }
  const char* type() const override { return "RobertaProcessing"; }

 private:
  SpecialToken sep_, cls_;
  bool trim_offsets_, add_prefix_space_;
};

class ByteLevelProcessing : public PostProcessor {
 public:
  ByteLevelProcessing(bool trim_offsets, bool add_prefix_space)
      : trim_offsets_(trim_offsets), add_prefix_space_(add_prefix_space) {}
  std::size_t added_tokens(bool) const override { return 0; }
  std::vector<WorkEncoding> process_encodings(std::vector<WorkEncoding> encodings,
                                              bool) const override {
    if (trim_offsets_) {
      for (WorkEncoding& w : encodings) trim_byte_level_offsets(w.e, add_prefix_space_);
    }
    return encodings;
  }
  const char* type() const override { return "ByteLevel"; }

 private:
  bool trim_offsets_, add_prefix_space_;
};

// "[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1", stored as pieces.
struct Piece {
  bool is_sequence;
  int sequence;  // 0 = A, 1 = B
  std::string special;
  int64_t type_id;
};

struct TemplateToken {
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;
};

class TemplateProcessing : public PostProcessor {
 public:
  TemplateProcessing(std::vector<Piece> single, std::vector<Piece> pair,
                     std::map<std::string, TemplateToken> specials)
      : single_(std::move(single)), pair_(std::move(pair)), specials_(std::move(specials)) {}

  std::size_t added_tokens(bool is_pair) const override {
    std::size_t n = 0;
    for (const Piece& p : is_pair ? pair_ : single_) {
      if (!p.is_sequence) n += specials_.at(p.special).ids.size();
    }
    return n;
  }

  std::vector<WorkEncoding> process_encodings(std::vector<WorkEncoding> encodings,
                                              bool add_special_tokens) const override {
    std::vector<WorkEncoding> out;
    for (const Piece& p : encodings.size() == 2 ? pair_ : single_) {
      if (p.is_sequence) {
        WorkEncoding copy = encodings[static_cast<std::size_t>(p.sequence)];
        copy.set_type_ids(p.type_id);
        copy.set_sequence_id(p.sequence);
        out.push_back(std::move(copy));
      } else if (add_special_tokens) {
        const TemplateToken& token = specials_.at(p.special);
        out.push_back(special(token.ids, token.tokens, p.type_id));
      }
    }
    return out;
  }
  const char* type() const override { return "TemplateProcessing"; }

 private:
  std::vector<Piece> single_, pair_;
  std::map<std::string, TemplateToken> specials_;
};

class SequenceProcessing : public PostProcessor {
 public:
  explicit SequenceProcessing(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps_(std::move(steps)) {}
  std::size_t added_tokens(bool is_pair) const override {
    std::size_t n = 0;
    for (const auto& step : steps_) n += step->added_tokens(is_pair);
    return n;
  }
  std::vector<WorkEncoding> process_encodings(std::vector<WorkEncoding> encodings,
                                              bool add_special_tokens) const override {
    for (const auto& step : steps_) {
      encodings = step->process_encodings(std::move(encodings), add_special_tokens);
    }
    return encodings;
  }
  const char* type() const override { return "Sequence"; }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

std::vector<Piece> read_template(const Json& spec, const std::string& key, const std::string& path,
                                 const std::map<std::string, TemplateToken>& specials) {
  std::string where = join_path(path, key);
  const Json& list = require_array(require_field(spec, key, path), where);
  std::vector<Piece> pieces;
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string at = where + "[" + std::to_string(i) + "]";
    const Json& item = require_object(list[i], at);
    if (const Json* seq = optional_field(item, "Sequence")) {
      std::string id = get_string(*seq, "id", at + ".Sequence");
      if (id != "A" && id != "B") {
        throw_field_error(at + ".Sequence.id", "'" + id + "' is not A or B");
      }
      pieces.push_back({true, id == "A" ? 0 : 1, "", get_int(*seq, "type_id", at + ".Sequence")});
    } else if (const Json* tok = optional_field(item, "SpecialToken")) {
      std::string id = get_string(*tok, "id", at + ".SpecialToken");
      if (specials.count(id) == 0) {
        throw_field_error(at + ".SpecialToken.id",
                          "'" + id + "' is not in " + join_path(path, "special_tokens"));
      }
      pieces.push_back({false, 0, id, get_int(*tok, "type_id", at + ".SpecialToken")});
    } else {
      throw_field_error(at, "must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  return pieces;
}

std::unique_ptr<PostProcessor> make_template(const Json& spec, const std::string& path) {
  std::map<std::string, TemplateToken> specials;
  std::string specials_path = join_path(path, "special_tokens");
  if (const Json* list = optional_field(spec, "special_tokens")) {
    for (const auto& [name, value] : require_object(*list, specials_path).items()) {
      std::string at = specials_path + "[\"" + name + "\"]";
      TemplateToken token;
      const Json& ids = require_array(require_field(value, "ids", at), at + ".ids");
      const Json& tokens = require_array(require_field(value, "tokens", at), at + ".tokens");
      for (std::size_t i = 0; i < ids.size(); ++i) {
        token.ids.push_back(as_id(ids[i], at + ".ids[" + std::to_string(i) + "]"));
      }
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        token.tokens.push_back(as_string(tokens[i], at + ".tokens[" + std::to_string(i) + "]"));
      }
      if (token.ids.size() != token.tokens.size()) {
        throw_field_error(at, "has a different number of ids and tokens");
      }
      specials.emplace(name, std::move(token));
    }
  }
  auto single = read_template(spec, "single", path, specials);
  auto pair = read_template(spec, "pair", path, specials);
  for (const Piece& p : single) {
    if (p.is_sequence && p.sequence == 1) {
      throw_field_error(join_path(path, "single"), "uses $B, but a single text has no B");
    }
  }
  bool has_a = false, has_b = false;
  for (const Piece& p : pair) {
    has_a = has_a || (p.is_sequence && p.sequence == 0);
    has_b = has_b || (p.is_sequence && p.sequence == 1);
  }
  if (!has_a || !has_b) throw_field_error(join_path(path, "pair"), "must use both $A and $B");
  return std::make_unique<TemplateProcessing>(std::move(single), std::move(pair),
                                              std::move(specials));
}

constexpr const char* kSupported =
    "BertProcessing, RobertaProcessing, TemplateProcessing, ByteLevel, Sequence";

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const Json& spec, const std::string& path,
                                                   std::vector<std::string>& names) {
  std::string type = get_type(spec, path);
  names.push_back(type);
  if (type == "BertProcessing") {
    return std::make_unique<BertProcessing>(read_pair_token(spec, "sep", path),
                                            read_pair_token(spec, "cls", path));
  }
  if (type == "RobertaProcessing") {
    return std::make_unique<RobertaProcessing>(
        read_pair_token(spec, "sep", path), read_pair_token(spec, "cls", path),
        get_bool(spec, "trim_offsets", path, true), get_bool(spec, "add_prefix_space", path, true));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelProcessing>(get_bool(spec, "trim_offsets", path, true),
                                                 get_bool(spec, "add_prefix_space", path, true));
  }
  if (type == "TemplateProcessing") return make_template(spec, path);
  if (type == "Sequence") {
    names.pop_back();
    check_nesting(path);
    std::string list_path = join_path(path, "processors");
    const Json& list = require_array(require_field(spec, "processors", path), list_path);
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (std::size_t i = 0; i < list.size(); ++i) {
      steps.push_back(
          make_post_processor(list[i], list_path + "[" + std::to_string(i) + "]", names));
    }
    return std::make_unique<SequenceProcessing>(std::move(steps));
  }
  throw_unknown_type(path, type, kSupported);
}

}  // namespace attnhook::text
