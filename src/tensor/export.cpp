// The at::Tensor attention-file API (attnhook/export.h) over the torch-free readers and
// writers of src/view/ (json.cpp, npz.cpp, html.cpp).
#include "attnhook/export.h"

#include "attention_data.h"
#include "tensor/tensor_array.h"

namespace attnhook {
namespace {

detail::AttentionData to_data(const AttentionFile& file) {
  return {file.model, file.text, file.tokens, file.src_tokens, file.layer_tokens, detail::to_calls(file.values)};
}

AttentionFile to_file(detail::AttentionData data) {
  AttentionFile file;
  file.model = std::move(data.model);
  file.text = std::move(data.text);
  file.tokens = std::move(data.tokens);
  file.src_tokens = std::move(data.src_tokens);
  file.layer_tokens = std::move(data.layer_tokens);
  file.values = detail::to_values(data.values);
  return file;
}

}  // namespace

std::vector<std::string> AttentionFile::labels(const std::string& layer, int64_t length, bool keys) const {
  return detail::axis_labels(layer_tokens, src_tokens, tokens, layer, length, keys);
}

void save_json(const AttentionFile& file, const std::string& path, JsonSchema schema) {
  detail::write_json(to_data(file), path, schema);
}

void save_npz(const AttentionFile& file, const std::string& path) { detail::write_npz(to_data(file), path); }

void save_html(const AttentionFile& file, const std::string& path, int64_t batch, const std::string& title) {
  detail::write_html(to_data(file), path, batch, title);
}

AttentionFile load_json(const std::string& path) { return to_file(detail::read_json(path)); }
AttentionFile load_npz(const std::string& path) { return to_file(detail::read_npz(path)); }
AttentionFile load_attention(const std::string& path) { return to_file(detail::read_attention(path)); }

}  // namespace attnhook
