#include "inputs.h"

#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "atomic_file.h"
#include "attnhook/error.h"
#include "attnhook/tokenizer.h"
#include "utf8.h"

namespace attnhook::cli {
namespace {

using detail::printable;

std::vector<int64_t> parse_ids(const std::string& text, const std::string& where,
                               const char* what) {
  std::vector<int64_t> ids;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const auto begin = item.find_first_not_of(" \t\r");
    const auto end = item.find_last_not_of(" \t\r");
    const std::string trimmed =
        begin == std::string::npos ? "" : item.substr(begin, end - begin + 1);
    const std::optional<int64_t> id = parse_integer(trimmed);
    if (!id)
      throw Error(
          fmt::format("{}: '{}' is not an integer {}", where, printable(trimmed, 40), what));
    ids.push_back(*id);
  }
  if (ids.empty()) throw Error(fmt::format("{}: no {}s", where, what));
  return ids;
}

// A list that must have one entry per token of `sequence`.
template <typename T>
void check_length(const std::vector<T>& list, const Sequence& sequence, const std::string& what,
                  const std::string& where) {
  if (list.size() != sequence.ids.size()) {
    throw Error(fmt::format("{}: {} has {} entries, but the input has {} tokens", where, what,
                            list.size(), sequence.ids.size()));
  }
}

// What the command line (or a line of the inputs file) says about one sequence.
struct SequenceSpec {
  std::optional<std::string> text, pair;
  std::optional<std::vector<int64_t>> ids, mask, type_ids;
  std::optional<std::vector<std::string>> tokens;
};

class Reader {
 public:
  explicit Reader(const ExtractArgs& args) : args_(args) {
    if (!args.tokens_file.empty()) {
      std::stringstream lines(detail::read_file(args.tokens_file, "tokens file"));
      for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        file_tokens_.push_back(line);
      }
    }
  }

  // Labels given on the command line for token input `k` (forward order).
  std::optional<std::vector<std::string>> flag_tokens(size_t k,
                                                      const std::string& tgt_tokens = "") const {
    if (k == 0 && !args_.tokens_file.empty()) return file_tokens_;
    if (k < args_.tokens.size()) return split_words(args_.tokens[k]);
    if (k == 1 && !tgt_tokens.empty()) return split_words(tgt_tokens);
    return std::nullopt;
  }

  Sequence sequence(const SequenceSpec& spec, const std::string& where,
                    const std::string& tokens_where) {
    Sequence s;
    if (spec.text) {
      if (args_.tokenizer.empty())
        throw Error(fmt::format("{}: text needs a tokenizer (--tokenizer)", where));
      const EncodeOptions options = EncodeOptions()
                                        .max_length(static_cast<size_t>(args_.max_length))
                                        .truncation(args_.truncation)
                                        .padding_to_max_length(args_.padding == "max_length");
      const Encoding e = spec.pair ? tokenizer().encode(*spec.text, *spec.pair, options)
                                   : tokenizer().encode(*spec.text, options);
      if (args_.max_length > 0 && e.size() > static_cast<size_t>(args_.max_length)) {
        throw Error(fmt::format(
            "{}: the text is {} tokens long, longer than --max-length {}; add --truncation to "
            "cut it to {} tokens",
            where, e.size(), args_.max_length, args_.max_length));
      }
      if (e.size() == 0) throw Error(fmt::format("{}: the text gives no tokens", where));
      s = {e.ids, e.attention_mask, e.type_ids, e.tokens, true};
    } else {
      s.ids = *spec.ids;
      s.mask = spec.mask.value_or(std::vector<int64_t>(s.ids.size(), 1));
      s.type_ids = spec.type_ids.value_or(std::vector<int64_t>(s.ids.size(), 0));
      check_length(s.mask, s, "the attention mask", where);
      check_length(s.type_ids, s, "the token type ids", where);
      for (size_t i = 0; i < s.mask.size(); ++i) {
        if (s.mask[i] != 0 && s.mask[i] != 1) {
          throw Error(fmt::format(
              "{}: the attention mask holds {} at position {}; it takes 1 (token) and 0 (padding)",
              where, s.mask[i], i));
        }
      }
    }
    if (spec.tokens) {
      s.tokens = *spec.tokens;
      check_length(s.tokens, s, tokens_where, where);
    }
    return s;
  }

  std::string text_of(const SequenceSpec& spec, const Sequence& s) const {
    if (spec.text) return spec.pair ? *spec.text + "\n" + *spec.pair : *spec.text;
    // Ids without text: the labels of the tokens, padding left out.
    std::string text;
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      if (s.mask[i] == 0) continue;
      text += (text.empty() ? "" : " ") + s.tokens[i];
    }
    return text;
  }

  const ExtractArgs& args() const { return args_; }

 private:
  const Tokenizer& tokenizer() {
    if (!tokenizer_) {
      tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(
          args_.tokenizer, LoadOptions().add_bos(args_.add_bos).add_eos(args_.add_eos)));
    }
    return *tokenizer_;
  }

  const ExtractArgs& args_;
  std::vector<std::string> file_tokens_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

// --text / --ids and their flags.
ModelInput from_flags(Reader& reader) {
  const ExtractArgs& args = reader.args();
  if (args.tokens.size() > 1 && !args.tgt_tokens.empty()) {
    throw Error("the decoder input is labelled twice: by the second --tokens and by --tgt-tokens");
  }
  if (args.tokens.size() > 2) {
    throw Error(fmt::format(
        "{} --tokens: with --ids or --text there are at most two token inputs (the input and "
        "the decoder input)",
        args.tokens.size()));
  }
  ModelInput input;
  input.where = args.text.empty() ? "--ids" : "--text";
  SequenceSpec src;
  if (!args.text.empty()) {
    src.text = args.text;
    if (!args.text_pair.empty()) src.pair = args.text_pair;
  } else {
    src.ids = parse_ids(args.ids, "--ids", "token id");
    if (!args.mask.empty()) src.mask = parse_ids(args.mask, "--mask", "mask value");
    if (!args.type_ids.empty())
      src.type_ids = parse_ids(args.type_ids, "--type-ids", "token type id");
  }
  src.tokens = reader.flag_tokens(0);
  const std::string tokens_where =
      args.tokens_file.empty()
          ? "--tokens"
          : fmt::format("--tokens-file '{}'", printable(args.tokens_file, 4096));
  input.src = reader.sequence(src, input.where, tokens_where);
  if (!args.tgt_text.empty() || !args.tgt_ids.empty()) {
    SequenceSpec tgt;
    const std::string where = args.tgt_text.empty() ? "--tgt-ids" : "--tgt-text";
    if (!args.tgt_text.empty()) {
      tgt.text = args.tgt_text;
    } else {
      tgt.ids = parse_ids(args.tgt_ids, "--tgt-ids", "token id");
      if (!args.tgt_mask.empty()) tgt.mask = parse_ids(args.tgt_mask, "--tgt-mask", "mask value");
    }
    tgt.tokens = reader.flag_tokens(1, args.tgt_tokens);
    input.tgt = reader.sequence(tgt, where,
                                args.tgt_tokens.empty() ? "the second --tokens" : "--tgt-tokens");
  } else if (!args.tgt_tokens.empty() || args.tokens.size() > 1) {
    throw Error(
        args.tgt_tokens.empty()
            ? "a second --tokens labels the decoder input: give it with --tgt-ids or --tgt-text"
            : "--tgt-tokens labels the decoder input: give it with --tgt-ids or --tgt-text");
  }
  input.text = reader.text_of(src, input.src);
  return input;
}

const char* const kLineKeys =
    "text, text_pair, tgt_text, ids, mask, type_ids, tgt_ids, tgt_mask, tokens, tgt_tokens";

// One JSON line of the inputs file: {"text": ...} or {"ids": [...], "tokens": [...]}, ...
ModelInput from_json_line(Reader& reader, const std::string& line, const std::string& where) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    const std::string reason = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    const size_t cut = reason.rfind("] ", 40);
    throw Error(fmt::format("{} is not valid JSON: {}", where,
                            cut == std::string::npos ? reason : reason.substr(cut + 2)));
  }
  if (!object.is_object())
    throw Error(
        fmt::format("{} must be a JSON object {{\"text\": ...}} or {{\"ids\": [...]}}", where));
  SequenceSpec src, tgt;
  bool has_tgt = false;
  for (const auto& [key, value] : object.items()) {
    const std::string field = fmt::format("{}: \"{}\"", where, printable(key, 40));
    auto text = [&]() -> std::string {
      if (!value.is_string()) throw Error(field + " must be a string");
      return value.get<std::string>();
    };
    auto integers = [&]() -> std::vector<int64_t> {
      if (!value.is_array() || value.empty())
        throw Error(field + " must be a non-empty array of integers");
      std::vector<int64_t> out;
      for (const auto& item : value) {
        if (!item.is_number_integer())
          throw Error(field + " must be a non-empty array of integers");
        out.push_back(item.get<int64_t>());
      }
      return out;
    };
    auto strings = [&]() -> std::vector<std::string> {
      if (value.is_string()) return split_words(value.get<std::string>());
      if (!value.is_array()) throw Error(field + " must be an array of strings");
      std::vector<std::string> out;
      for (const auto& item : value) {
        if (!item.is_string()) throw Error(field + " must be an array of strings");
        out.push_back(item.get<std::string>());
      }
      return out;
    };
    if (key == "text")
      src.text = text();
    else if (key == "text_pair")
      src.pair = text();
    else if (key == "tgt_text")
      tgt.text = text(), has_tgt = true;
    else if (key == "ids")
      src.ids = integers();
    else if (key == "mask")
      src.mask = integers();
    else if (key == "type_ids")
      src.type_ids = integers();
    else if (key == "tgt_ids")
      tgt.ids = integers(), has_tgt = true;
    else if (key == "tgt_mask")
      tgt.mask = integers();
    else if (key == "tokens")
      src.tokens = strings();
    else if (key == "tgt_tokens")
      tgt.tokens = strings();
    else
      throw Error(
          fmt::format("{} is not a field of an input line; the fields are {}", field, kLineKeys));
  }
  auto check = [&](const SequenceSpec& spec, const char* text_key, const char* ids_key,
                   const char* mask_key) {
    if (spec.text.has_value() == spec.ids.has_value()) {
      throw Error(
          fmt::format("{} needs exactly one of \"{}\" and \"{}\"", where, text_key, ids_key));
    }
    if (spec.text && (spec.mask || spec.type_ids)) {
      throw Error(
          fmt::format("{}: \"{}\" goes with \"{}\", not \"{}\" (the tokenizer makes the mask)",
                      where, spec.mask ? mask_key : "type_ids", ids_key, text_key));
    }
  };
  check(src, "text", "ids", "mask");
  if (src.pair && !src.text) throw Error(fmt::format("{}: \"text_pair\" needs \"text\"", where));
  ModelInput input;
  input.where = where;
  if (!src.tokens) src.tokens = reader.flag_tokens(0);
  input.src = reader.sequence(src, where, "\"tokens\"");
  if (has_tgt) {
    check(tgt, "tgt_text", "tgt_ids", "tgt_mask");
    input.tgt = reader.sequence(tgt, where + " (decoder input)", "\"tgt_tokens\"");
  } else if (tgt.tokens || tgt.mask) {
    throw Error(fmt::format("{}: \"{}\" needs \"tgt_ids\" or \"tgt_text\"", where,
                            tgt.tokens ? "tgt_tokens" : "tgt_mask"));
  }
  input.text = reader.text_of(src, input.src);
  return input;
}

std::vector<ModelInput> from_inputs_file(Reader& reader) {
  const std::string& path = reader.args().inputs_file;
  std::stringstream lines(detail::read_file(path, "inputs file"));
  std::vector<ModelInput> inputs;
  size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const std::string where =
        fmt::format("--inputs-file '{}', line {}", printable(path, 4096), number);
    if (line[first] == '{') {
      inputs.push_back(from_json_line(reader, line, where));
      continue;
    }
    // The older format: comma-separated ids; --tokens labels every line.
    SequenceSpec spec;
    spec.ids = parse_ids(line, where, "token id");
    spec.tokens = reader.flag_tokens(0);
    ModelInput input;
    input.where = where;
    input.src = reader.sequence(spec, where,
                                reader.args().tokens_file.empty() ? "--tokens" : "--tokens-file");
    input.text = reader.text_of(spec, input.src);
    inputs.push_back(std::move(input));
  }
  if (inputs.empty())
    throw Error(fmt::format("--inputs-file '{}' holds no inputs", printable(path, 4096)));
  return inputs;
}

}  // namespace

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::stringstream stream(text);
  for (std::string word; stream >> word;) words.push_back(word);
  return words;
}

std::vector<ModelInput> read_inputs(const ExtractArgs& args) {
  Reader reader(args);
  if (!args.inputs_file.empty()) return from_inputs_file(reader);
  if (!args.text.empty() || !args.ids.empty()) return {from_flags(reader)};
  if (!args.image.empty()) return {from_image(args)};
  ModelInput input;
  input.where = "--input-tensor";
  input.tensor_files = args.input_tensors;
  for (size_t k = 0; k < args.input_tensors.size(); ++k) {
    auto tokens = reader.flag_tokens(k);
    input.tensor_tokens.push_back(tokens.value_or(std::vector<std::string>{}));
  }
  if (args.tokens.size() > args.input_tensors.size()) {
    throw Error(fmt::format("{} --tokens for {} --input-tensor: one --tokens per input at most",
                            args.tokens.size(), args.input_tensors.size()));
  }
  // As before text input existed: the labels of the first labelled input.
  for (const auto& tokens : input.tensor_tokens) {
    if (tokens.empty()) continue;
    input.text = fmt::format("{}", fmt::join(tokens, " "));
    break;
  }
  return {input};
}

}  // namespace attnhook::cli
