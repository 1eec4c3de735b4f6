// attnhook::Tokenizer: the public face of src/text.
#include "attnhook/tokenizer.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "attnhook/error.h"
#include "text/tokenizer_impl.h"

namespace attnhook {

Tokenizer::Tokenizer(std::shared_ptr<const detail::TokenizerImpl> impl) : impl_(std::move(impl)) {}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(fmt::format("cannot open tokenizer file '{}': {}", path, std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("cannot read tokenizer file '{}'", path));
  return content.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool looks_like_json(const std::string& content) {
  for (char c : content) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{';
  }
  return false;
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& path, const LoadOptions& options) {
  std::string content = read_file(path);
  // A SentencePiece model is binary protobuf; it is tried only when the file does not
  // start like JSON and is named like one, so that a broken tokenizer.json gets the JSON
  // error it needs.
  if (!looks_like_json(content) && ends_with(path, ".model")) {
    return Tokenizer(detail::load_sentencepiece(content, options, path));
  }
  return Tokenizer(detail::load_tokenizer_json(content, path));
}

Tokenizer Tokenizer::from_json_text(std::string_view json, std::string_view name) {
  return Tokenizer(detail::load_tokenizer_json(json, name));
}

Tokenizer Tokenizer::from_sentencepiece(std::string_view model_proto, const LoadOptions& options,
                                        std::string_view name) {
  return Tokenizer(detail::load_sentencepiece(model_proto, options, name));
}

Encoding Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  return impl_->encode(text, nullptr, options);
}

Encoding Tokenizer::encode(std::string_view text, std::string_view pair,
                           const EncodeOptions& options) const {
  return impl_->encode(text, &pair, options);
}

std::optional<int64_t> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int64_t id) const {
  return impl_->id_to_token(id);
}

std::size_t Tokenizer::vocab_size() const { return impl_->vocab_size(); }

std::size_t Tokenizer::num_special_tokens_to_add(bool pair) const {
  return impl_->post_processor ? impl_->post_processor->added_tokens(pair) : 0;
}

std::string Tokenizer::describe() const {
  const auto& names = impl_->component_names;
  if (names.size() <= 1) return names.empty() ? "" : names[0];
  std::string rest;
  for (std::size_t i = 1; i < names.size(); ++i) rest += (i > 1 ? ", " : "") + names[i];
  return fmt::format("{} ({})", names[0], rest);
}

}  // namespace attnhook
