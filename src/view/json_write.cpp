// Writing attn.json, in attnhook's schema and in the flat schema of Python extract/plot
// scripts. The text is streamed to the file in pieces of about 1 MiB.
#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "attention_data.h"

namespace attnhook::detail {
namespace {

using nlohmann::json;

constexpr size_t kFlushBytes = size_t{1} << 20;

// Text built in memory and written to `file` whenever it passes kFlushBytes.
class Output {
 public:
  explicit Output(std::FILE* file) : file_(file) {}
  fmt::memory_buffer& buffer() { return buffer_; }
  void text(const char* s) { buffer_.append(s, s + std::strlen(s)); }
  void maybe_flush() {
    if (buffer_.size() >= kFlushBytes) flush();
  }
  void flush() {
    if (failed_ == 0 && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      failed_ = errno ? errno : EIO;
    }
    buffer_.clear();
  }
  int failed() const { return failed_; }

 private:
  std::FILE* file_;
  fmt::memory_buffer buffer_;
  int failed_ = 0;
};

// Shortest text that reads back to the same float; JSON has no NaN/Inf: null.
void append_number(fmt::memory_buffer& out, float value) {
  if (std::isfinite(value)) {
    fmt::format_to(std::back_inserter(out), "{}", value);
  } else {
    fmt::format_to(std::back_inserter(out), "null");
  }
}

// Bytes that are not UTF-8 are written as U+FFFD.
void append_string(fmt::memory_buffer& out, const std::string& text) {
  const std::string quoted = json(text).dump(-1, ' ', false, json::error_handler_t::replace);
  out.append(quoted.data(), quoted.data() + quoted.size());
}

void append_strings(fmt::memory_buffer& out, const std::vector<std::string>& texts) {
  out.push_back('[');
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i) out.push_back(',');
    append_string(out, texts[i]);
  }
  out.push_back(']');
}

// The numbers of an array of `rank` dimensions `shape` as nested JSON arrays.
void append_nested(Output& out, const float* data, const int64_t* shape, size_t rank) {
  if (rank == 0) return append_number(out.buffer(), *data);
  int64_t stride = 1;
  for (size_t d = 1; d < rank; ++d) stride *= shape[d];
  out.buffer().push_back('[');
  for (int64_t i = 0; i < shape[0]; ++i) {
    if (i) out.buffer().push_back(',');
    append_nested(out, data + i * stride, shape + 1, rank - 1);
  }
  out.buffer().push_back(']');
  if (rank == 1) out.maybe_flush();
}

void append_integers(fmt::memory_buffer& out, const std::vector<int64_t>& values) {
  fmt::format_to(std::back_inserter(out), "[{}]", fmt::join(values, ","));
}

// The numbers of `values`, flat, row-major.
void append_numbers(Output& out, const float* data, int64_t count) {
  out.buffer().push_back('[');
  for (int64_t i = 0; i < count; ++i) {
    if (i) out.buffer().push_back(',');
    append_number(out.buffer(), data[i]);
    if ((i & 0xfff) == 0xfff) out.maybe_flush();
  }
  out.buffer().push_back(']');
}

// `separator` "<key>": [...] when `values` is not empty.
void append_mask(Output& out, const char* separator, const char* key,
                 const std::vector<int64_t>& values) {
  if (values.empty()) return;
  fmt::format_to(std::back_inserter(out.buffer()), "{}\"{}\": ", separator, key);
  append_integers(out.buffer(), values);
}

void append_outputs(const AttentionData& file, Output& out) {
  fmt::memory_buffer& buffer = out.buffer();
  if (!file.outputs.empty()) {
    out.text(",\n \"outputs\": [");
    for (size_t i = 0; i < file.outputs.size(); ++i) {
      const auto& [name, values] = file.outputs[i];
      out.text(i ? ",\n  {\"name\": " : "\n  {\"name\": ");
      append_string(buffer, name);
      fmt::format_to(std::back_inserter(buffer),
                     ", \"shape\": [{}], \"values\": ", fmt::join(values.shape(), ", "));
      append_numbers(out, values.data(), values.numel());
      out.text("}");
    }
    out.text("]");
  }
  const Prediction& prediction = file.prediction;
  if (prediction.empty()) return;
  out.text(",\n \"prediction\": {\"output\": ");
  append_string(buffer, prediction.output);
  fmt::format_to(std::back_inserter(buffer),
                 ", \"shape\": [{}], \"class_ids\": ", fmt::join(prediction.shape, ", "));
  append_integers(buffer, prediction.class_ids);
  if (!prediction.class_names.empty()) {
    out.text(", \"class_names\": ");
    append_strings(buffer, prediction.class_names);
  }
  if (!prediction.probabilities.empty()) {
    out.text(", \"probabilities\": ");
    append_numbers(out, prediction.probabilities.data(),
                   static_cast<int64_t>(prediction.probabilities.size()));
  }
  out.text("}");
}

void attnhook_schema(const AttentionData& file, Output& out) {
  fmt::memory_buffer& buffer = out.buffer();
  out.text("{\"format\": \"attnhook\", \"version\": 1,\n \"model\": ");
  append_string(buffer, file.model);
  out.text(",\n \"text\": ");
  append_string(buffer, file.text);
  out.text(",\n \"tokens\": ");
  append_strings(buffer, file.tokens);
  append_mask(out, ",\n ", "attention_mask", file.attention_mask);
  if (!file.src_tokens.empty()) {
    out.text(",\n \"src_tokens\": ");
    append_strings(buffer, file.src_tokens);
  }
  append_mask(out, ",\n ", "src_attention_mask", file.src_attention_mask);
  append_outputs(file, out);
  if (!file.patch_grid.empty()) {
    const PatchGrid& grid = file.patch_grid;
    fmt::format_to(std::back_inserter(buffer),
                   ",\n \"patch_grid\": [{}, {}], \"prefix_tokens\": {}", grid.rows, grid.columns,
                   grid.prefix_tokens);
  }
  out.text(",\n \"layers\": [");
  bool first_layer = true;
  for (const auto& [name, calls] : file.values) {
    out.text(first_layer ? "\n  {\"name\": " : ",\n  {\"name\": ");
    first_layer = false;
    append_string(buffer, name);
    const auto own = file.layer_tokens.find(name);
    if (own != file.layer_tokens.end()) {
      out.text(", \"tgt_tokens\": ");
      append_strings(buffer, own->second.tgt);
      out.text(", \"src_tokens\": ");
      append_strings(buffer, own->second.src);
      append_mask(out, ", ", "tgt_attention_mask", own->second.tgt_mask);
      append_mask(out, ", ", "src_attention_mask", own->second.src_mask);
    }
    out.text(", \"calls\": [");
    for (size_t c = 0; c < calls.size(); ++c) {
      const FloatArray& weights = calls[c];
      fmt::format_to(std::back_inserter(buffer),
                     "{}\n   {{\"shape\": [{}], \"values\": ", c ? "," : "",
                     fmt::join(weights.shape(), ", "));
      append_numbers(out, weights.data(), weights.numel());
      out.text("}");
    }
    out.text("]}");
  }
  out.text("\n ]\n}\n");
}

void flat_schema(const AttentionData& file, Output& out) {
  out.text("{\"tokens\": ");
  append_strings(out.buffer(), file.tokens);
  out.text(",\n \"text\": ");
  append_string(out.buffer(), file.text);
  out.text(",\n \"attention_matrices\": [");
  bool first = true;
  for (const auto& [name, calls] : file.values) {
    for (const auto& call : calls) {
      out.text(first ? "\n  " : ",\n  ");
      first = false;
      const FloatArray weights = call.dim() == 4 ? call[0] : call;  // [H, T, S]
      append_nested(out, weights.data(), weights.shape().data(), weights.shape().size());
    }
  }
  out.text("\n ]\n}\n");
}

}  // namespace

void write_json(const AttentionData& data, const std::string& path, JsonSchema schema) {
  write_atomically(path, "attention file", [&](std::FILE* file, std::string& error) {
    Output out(file);
    schema == JsonSchema::kFlat ? flat_schema(data, out) : attnhook_schema(data, out);
    out.flush();
    if (out.failed()) error = std::strerror(out.failed());
    return out.failed() == 0;
  });
}

}  // namespace attnhook::detail
