// tokenizer.json -> TokenizerImpl. Every problem is an attnhook::Error that starts with
// the file's name and names the JSON path.
#include <fmt/format.h>

#include "attnhook/error.h"
#include "text/components.h"
#include "text/tokenizer_impl.h"

namespace attnhook::detail {

using text::Json;

namespace {

Side read_side(const Json& spec, const std::string& path) {
  std::optional<std::string> side = text::get_optional_string(spec, "direction", path);
  if (!side || *side == "Right") return Side::kRight;
  if (*side == "Left") return Side::kLeft;
  text::throw_field_error(text::join_path(path, "direction"),
                          "'" + *side + "' is not Left or Right");
}

text::TruncationParams read_truncation(const Json& spec) {
  const std::string path = "truncation";
  text::require_object(spec, path);
  text::TruncationParams params;
  params.max_length = static_cast<std::size_t>(text::get_int(spec, "max_length", path));
  params.side = read_side(spec, path);
  std::string strategy = text::get_optional_string(spec, "strategy", path).value_or("LongestFirst");
  if (strategy == "LongestFirst") {
    params.strategy = TruncationStrategy::kLongestFirst;
  } else if (strategy == "OnlyFirst") {
    params.strategy = TruncationStrategy::kOnlyFirst;
  } else if (strategy == "OnlySecond") {
    params.strategy = TruncationStrategy::kOnlySecond;
  } else {
    text::throw_field_error("truncation.strategy",
                            "'" + strategy + "' is not LongestFirst, OnlyFirst or OnlySecond");
  }
  return params;
}

text::PaddingParams read_padding(const Json& spec) {
  const std::string path = "padding";
  text::require_object(spec, path);
  text::PaddingParams params;
  const Json& strategy = text::require_field(spec, "strategy", path);
  if (strategy.is_string() && strategy.get<std::string>() == "BatchLongest") {
    params.fixed_length.reset();
  } else if (const Json* fixed = text::optional_field(strategy, "Fixed")) {
    params.fixed_length = static_cast<std::size_t>(text::as_id(*fixed, "padding.strategy.Fixed"));
  } else {
    text::throw_field_error("padding.strategy", "must be \"BatchLongest\" or {\"Fixed\": n}");
  }
  params.side = read_side(spec, path);
  params.multiple_of =
      static_cast<std::size_t>(text::get_int_or(spec, "pad_to_multiple_of", path, 0));
  params.pad_id = text::get_int_or(spec, "pad_id", path, 0);
  params.pad_type_id = text::get_int_or(spec, "pad_type_id", path, 0);
  params.pad_token = text::get_optional_string(spec, "pad_token", path).value_or("[PAD]");
  return params;
}

std::vector<text::AddedToken> read_added_tokens(const Json& list) {
  const std::string path = "added_tokens";
  text::require_array(list, path);
  std::vector<text::AddedToken> tokens;
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string at = path + "[" + std::to_string(i) + "]";
    const Json& item = list[i];
    text::AddedToken t;
    t.id = text::get_int(item, "id", at);
    t.content = text::get_string(item, "content", at);
    t.single_word = text::get_bool(item, "single_word", at, false);
    t.lstrip = text::get_bool(item, "lstrip", at, false);
    t.rstrip = text::get_bool(item, "rstrip", at, false);
    t.special = text::get_bool(item, "special", at, false);
    t.normalized = text::get_bool(item, "normalized", at, !t.special);
    if (!t.content.empty()) tokens.push_back(std::move(t));
  }
  return tokens;
}

// nlohmann's message is "[json.exception.parse_error.101] parse error at line 3, column 5:
// syntax error ..."; the bracketed code means nothing to a user.
std::string plain_json_error(const std::string& what) {
  std::size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

std::shared_ptr<TokenizerImpl> build(const Json& root, const std::string& name) {
  auto impl = std::make_shared<TokenizerImpl>();
  impl->name = name;
  text::require_object(root, "the top level");
  const Json& model_spec = text::require_field(root, "model", "");
  impl->model = text::make_model(model_spec, "model");
  impl->component_names.push_back(impl->model->type());
  if (const Json* spec = text::optional_field(root, "normalizer")) {
    impl->normalizer = text::make_normalizer(*spec, "normalizer", impl->component_names);
  }
  if (const Json* spec = text::optional_field(root, "pre_tokenizer")) {
    impl->pre_tokenizer = text::make_pre_tokenizer(*spec, "pre_tokenizer", impl->component_names);
  }
  if (const Json* spec = text::optional_field(root, "post_processor")) {
    impl->post_processor =
        text::make_post_processor(*spec, "post_processor", impl->component_names);
  }
  if (const Json* spec = text::optional_field(root, "added_tokens")) {
    impl->added.build(read_added_tokens(*spec), impl->normalizer.get());
  }
  if (const Json* spec = text::optional_field(root, "truncation")) {
    impl->file_truncation = read_truncation(*spec);
  }
  if (const Json* spec = text::optional_field(root, "padding")) {
    impl->file_padding = read_padding(*spec);
  }
  return impl;
}

}  // namespace

std::shared_ptr<const TokenizerImpl> load_tokenizer_json(std::string_view json,
                                                         std::string_view name) {
  std::string file(name);
  Json root;
  try {
    root = Json::parse(json.begin(), json.end());
  } catch (const Json::parse_error& e) {
    throw Error(fmt::format("{} is not valid JSON: {}", file, plain_json_error(e.what())));
  }
  try {
    return build(root, file);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", file, e.what()));
  } catch (const Json::exception& e) {
    // A shape the field readers did not foresee: still an error that names the file.
    throw Error(fmt::format("{}: unexpected JSON: {}", file, plain_json_error(e.what())));
  }
}

}  // namespace attnhook::detail
