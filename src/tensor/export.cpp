// The at::Tensor attention-file API (attnhook/export.h) over the torch-free readers and
// writers of src/view/ (json_read.cpp, json_write.cpp, npz.cpp, html.cpp). AttentionFile
// and detail::AttentionData are one struct template (attnhook/formats.h): only the
// arrays are converted, the rest is copied as AttentionInfo.
#include "attnhook/export.h"

#include "attention_data.h"
#include "attnhook/error.h"
#include "tensor/tensor_array.h"

namespace attnhook {
namespace {

detail::AttentionData to_data(const AttentionFile& file) {
  detail::AttentionData data;
  static_cast<AttentionInfo&>(data) = file;
  // Outputs of any dtype are stored as float32 (to_array converts).
  for (const auto& [name, values] : file.outputs) {
    if (!values.defined()) throw Error("output '" + name + "' is an undefined tensor");
    data.outputs.push_back({name, detail::to_array(values)});
  }
  data.values = detail::to_calls(file.values);
  return data;
}

AttentionFile to_file(detail::AttentionData data) {
  AttentionFile file;
  static_cast<AttentionInfo&>(file) = std::move(static_cast<AttentionInfo&>(data));
  for (const auto& [name, values] : data.outputs) file.outputs.push_back({name, detail::to_tensor(values)});
  file.values = detail::to_values(data.values);
  return file;
}

}  // namespace

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
