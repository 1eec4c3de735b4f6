// attn.json in attnhook's schema and in the flat schema of Python extract/plot scripts.
#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "attention_data.h"
#include "attnhook/error.h"

namespace attnhook::detail {
namespace {

using nlohmann::json;

// Shortest text that reads back to the same float; JSON has no NaN/Inf: null.
void append_number(fmt::memory_buffer& out, float value) {
  if (std::isfinite(value)) {
    fmt::format_to(std::back_inserter(out), "{}", value);
  } else {
    fmt::format_to(std::back_inserter(out), "null");
  }
}

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
void append_nested(fmt::memory_buffer& out, const float* data, const int64_t* shape, size_t rank) {
  if (rank == 0) return append_number(out, *data);
  int64_t stride = 1;
  for (size_t d = 1; d < rank; ++d) stride *= shape[d];
  out.push_back('[');
  for (int64_t i = 0; i < shape[0]; ++i) {
    if (i) out.push_back(',');
    append_nested(out, data + i * stride, shape + 1, rank - 1);
  }
  out.push_back(']');
}

fmt::memory_buffer attnhook_schema(const AttentionData& file) {
  fmt::memory_buffer out;
  auto text = [&](const char* s) { out.append(s, s + std::strlen(s)); };
  text("{\"format\": \"attnhook\", \"version\": 1,\n \"model\": ");
  append_string(out, file.model);
  text(",\n \"text\": ");
  append_string(out, file.text);
  text(",\n \"tokens\": ");
  append_strings(out, file.tokens);
  if (!file.src_tokens.empty()) {
    text(",\n \"src_tokens\": ");
    append_strings(out, file.src_tokens);
  }
  text(",\n \"layers\": [");
  bool first_layer = true;
  for (const auto& [name, calls] : file.values) {
    text(first_layer ? "\n  {\"name\": " : ",\n  {\"name\": ");
    first_layer = false;
    append_string(out, name);
    const auto own = file.layer_tokens.find(name);
    if (own != file.layer_tokens.end()) {
      text(", \"tgt_tokens\": ");
      append_strings(out, own->second.tgt);
      text(", \"src_tokens\": ");
      append_strings(out, own->second.src);
    }
    text(", \"calls\": [");
    for (size_t c = 0; c < calls.size(); ++c) {
      const FloatArray& weights = calls[c];
      fmt::format_to(std::back_inserter(out), "{}\n   {{\"shape\": [{}], \"values\": [", c ? "," : "",
                     fmt::join(weights.shape(), ", "));
      const float* data = weights.data();
      for (int64_t i = 0; i < weights.numel(); ++i) {
        if (i) out.push_back(',');
        append_number(out, data[i]);
      }
      text("]}");
    }
    text("]}");
  }
  text("\n ]\n}\n");
  return out;
}

fmt::memory_buffer flat_schema(const AttentionData& file) {
  fmt::memory_buffer out;
  auto text = [&](const char* s) { out.append(s, s + std::strlen(s)); };
  text("{\"tokens\": ");
  append_strings(out, file.tokens);
  text(",\n \"text\": ");
  append_string(out, file.text);
  text(",\n \"attention_matrices\": [");
  bool first = true;
  for (const auto& [name, calls] : file.values) {
    for (const auto& call : calls) {
      text(first ? "\n  " : ",\n  ");
      first = false;
      const FloatArray weights = call.dim() == 4 ? call[0] : call;  // [H, T, S]
      append_nested(out, weights.data(), weights.shape().data(), weights.shape().size());
    }
  }
  text("\n ]\n}\n");
  return out;
}

[[noreturn]] void schema_error(const std::string& path, const std::string& what) {
  throw Error(fmt::format("attention file '{}': {}", path, what));
}

std::vector<std::string> read_strings(const json& document, const char* key, const std::string& path,
                                      const std::string& where = "") {
  std::vector<std::string> out;
  if (!document.contains(key)) return out;
  const json& list = document.at(key);
  if (!list.is_array()) schema_error(path, fmt::format("{}{} must be an array of strings", where, key));
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) schema_error(path, fmt::format("{}{}[{}] must be a string", where, key, i));
    out.push_back(list[i].get<std::string>());
  }
  return out;
}

// A DOM of millions of numbers is slow (about 1 s for 12 layers x 12 heads x 128 tokens),
// so before the JSON parser sees the text, the number arrays under "values" keys are
// parsed with std::from_chars and cut out, leaving a marker string "#<index>" in the
// array. `removed` records where, so that a parse error's position can be given in the
// file's own lines and columns. An array that is not plain numbers (or shorter than its
// marker) is left to the parser.
struct TakenArrays {
  std::vector<std::vector<float>> arrays;
  std::string text;  // what the parser sees
  // (index in `text`, characters cut just before it), in order
  std::vector<std::pair<size_t, size_t>> removed;

  // Index in the file of the character at `index` in `text`.
  size_t file_index(size_t index) const {
    for (const auto& [at, count] : removed) {
      if (at > index) break;
      index += count;
    }
    return index;
  }
};

TakenArrays take_value_arrays(const std::string& text) {
  TakenArrays taken;
  std::vector<std::vector<float>>& arrays = taken.arrays;
  size_t copied = 0;  // text[0, copied) is in taken.text
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c != '"') continue;
    if (text.compare(i, 8, "\"values\"") != 0) {
      in_string = true;
      continue;
    }
    size_t at = i + 8;
    auto skip_space = [&] { while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at; };
    skip_space();
    if (at >= text.size() || text[at] != ':') {
      in_string = false;
      i += 7;
      continue;
    }
    ++at;
    skip_space();
    i += 7;
    if (at >= text.size() || text[at] != '[') continue;
    const size_t open = at++;
    std::vector<float> numbers;
    bool plain = true;
    for (;;) {
      skip_space();
      if (at >= text.size()) {
        plain = false;
        break;
      }
      if (text[at] == ']') break;
      if (text.compare(at, 4, "null") == 0) {
        numbers.push_back(std::numeric_limits<float>::quiet_NaN());
        at += 4;
      } else {
        float value = 0;
        const char* first = text.data() + at;
        const auto [end, error] = std::from_chars(first, text.data() + text.size(), value);
        if (error != std::errc() || !(*first == '-' || std::isdigit(static_cast<unsigned char>(*first)))) {
          plain = false;
          break;
        }
        numbers.push_back(value);
        at = end - text.data();
      }
      skip_space();
      if (at < text.size() && text[at] == ',') {
        ++at;
      } else if (at >= text.size() || text[at] != ']') {
        plain = false;
        break;
      }
    }
    const std::string marker = fmt::format("\"#{}\"", arrays.size());
    if (!plain || at - open - 1 < marker.size()) continue;
    taken.text.append(text, copied, open + 1 - copied);
    taken.text += marker;
    taken.removed.emplace_back(taken.text.size(), at - open - 1 - marker.size());
    copied = at;  // the closing bracket
    arrays.push_back(std::move(numbers));
    i = at;
  }
  taken.text.append(text, copied, std::string::npos);
  return taken;
}

// nlohmann's "parse error at line L, column C: ..." with L and C of the file itself.
// `byte` counts the characters the parser read, end of input included; line and column
// follow nlohmann's convention (a newline ends a line and resets the column to 0).
std::string parse_error_in_file(const std::string& message, size_t byte, const TakenArrays& taken,
                                const std::string& file) {
  const size_t last = taken.file_index(byte == 0 ? 0 : byte - 1);  // the last character read
  size_t line = 1, column = 0;
  for (size_t k = 0; k <= last && k <= file.size(); ++k) {
    ++column;
    if (k < file.size() && file[k] == '\n') ++line, column = 0;
  }
  std::string reason = message.substr(std::min(message.find("parse error"), message.size()));
  const size_t from = reason.find("at line "), to = reason.find(':', from);
  if (from == std::string::npos || to == std::string::npos) return reason;
  return reason.replace(from, to - from, fmt::format("at line {}, column {}", line, column));
}

float read_number(const json& value, const std::string& path, const std::string& where) {
  if (value.is_null()) return std::numeric_limits<float>::quiet_NaN();
  if (!value.is_number()) schema_error(path, fmt::format("{} must be a number", where));
  return value.get<float>();
}

AttentionData read_attnhook_schema(const json& document, const std::string& path,
                                   std::vector<std::vector<float>>& taken) {
  AttentionData file;
  if (document.value("version", 0) != 1) {
    schema_error(path, fmt::format("unsupported version {} (this reader knows 1)", document.value("version", json()).dump()));
  }
  file.model = document.value("model", "");
  file.text = document.value("text", "");
  file.tokens = read_strings(document, "tokens", path);
  file.src_tokens = read_strings(document, "src_tokens", path);
  if (!document.contains("layers") || !document["layers"].is_array()) schema_error(path, "\"layers\" must be an array");
  const json& layers = document["layers"];
  for (size_t l = 0; l < layers.size(); ++l) {
    const json& layer = layers[l];
    if (!layer.is_object() || !layer.contains("name") || !layer["name"].is_string()) {
      schema_error(path, fmt::format("layers[{}].name must be a string", l));
    }
    if (!layer.contains("calls") || !layer["calls"].is_array()) {
      schema_error(path, fmt::format("layers[{}].calls must be an array", l));
    }
    std::vector<FloatArray> calls;
    for (size_t c = 0; c < layer["calls"].size(); ++c) {
      const json& call = layer["calls"][c];
      const std::string where = fmt::format("layers[{}].calls[{}]", l, c);
      if (!call.is_object() || !call.contains("shape") || !call["shape"].is_array() || call["shape"].size() != 4) {
        schema_error(path, where + ".shape must be [batch, heads, tgt_len, src_len]");
      }
      std::vector<int64_t> shape;
      int64_t count = 1;
      for (const json& size : call["shape"]) {
        if (!size.is_number_integer() || size.get<int64_t>() < 0) {
          schema_error(path, where + ".shape must hold non-negative integers");
        }
        shape.push_back(size.get<int64_t>());
        count *= shape.back();
      }
      if (!call.contains("values") || !call["values"].is_array()) schema_error(path, where + ".values must be an array");
      const json& numbers = call["values"];
      std::vector<float>* fast = nullptr;
      if (numbers.size() == 1 && numbers[0].is_string()) {  // a marker left by take_value_arrays?
        const std::string& marker = numbers[0].get_ref<const std::string&>();
        size_t index = 0;
        const auto [end, error] = std::from_chars(marker.data() + 1, marker.data() + marker.size(), index);
        if (marker.size() > 1 && marker[0] == '#' && error == std::errc() && end == marker.data() + marker.size() &&
            index < taken.size())
          fast = &taken[index];
      }
      const size_t found = fast ? fast->size() : numbers.size();
      if (static_cast<int64_t>(found) != count) {
        schema_error(path, fmt::format("{}.values has {} numbers, shape [{}] needs {}", where, found,
                                       fmt::join(shape, ", "), count));
      }
      std::vector<float> data;
      if (fast) {
        data = std::move(*fast);
      } else {
        data.resize(count);
        for (int64_t i = 0; i < count; ++i) data[i] = read_number(numbers[i], path, fmt::format("{}.values[{}]", where, i));
      }
      calls.emplace_back(std::move(shape), std::move(data));
    }
    const std::string name = layer["name"].get<std::string>();
    if (layer.contains("tgt_tokens") || layer.contains("src_tokens")) {
      const std::string where = fmt::format("layers[{}].", l);
      file.layer_tokens[name] = {read_strings(layer, "tgt_tokens", path, where), read_strings(layer, "src_tokens", path, where)};
    }
    file.values.emplace_back(name, std::move(calls));
  }
  return file;
}

AttentionData read_flat_schema(const json& document, const std::string& path) {
  AttentionData file;
  file.text = document.contains("text") && document["text"].is_string() ? document["text"].get<std::string>() : "";
  file.tokens = read_strings(document, "tokens", path);
  const json& layers = document["attention_matrices"];
  if (!layers.is_array()) schema_error(path, "\"attention_matrices\" must be an array [layer][head][i][j]");
  for (size_t l = 0; l < layers.size(); ++l) {
    const json& heads = layers[l];
    const std::string where = fmt::format("attention_matrices[{}]", l);
    if (!heads.is_array() || heads.empty() || !heads[0].is_array() || heads[0].empty() || !heads[0][0].is_array()) {
      schema_error(path, where + " must be a non-empty [head][i][j] array");
    }
    const int64_t num_heads = heads.size(), rows = heads[0].size(), cols = heads[0][0].size();
    std::vector<float> weights(num_heads * rows * cols);
    float* data = weights.data();
    for (int64_t h = 0; h < num_heads; ++h) {
      if (!heads[h].is_array() || static_cast<int64_t>(heads[h].size()) != rows) {
        schema_error(path, fmt::format("{}[{}] must have {} rows like head 0", where, h, rows));
      }
      for (int64_t i = 0; i < rows; ++i) {
        const json& row = heads[h][i];
        if (!row.is_array() || static_cast<int64_t>(row.size()) != cols) {
          schema_error(path, fmt::format("{}[{}][{}] must have {} numbers like row 0 of head 0", where, h, i, cols));
        }
        for (int64_t j = 0; j < cols; ++j) {
          *data++ = read_number(row[j], path, fmt::format("{}[{}][{}][{}]", where, h, i, j));
        }
      }
    }
    file.values.push_back({std::to_string(l), {FloatArray({1, num_heads, rows, cols}, std::move(weights))}});
  }
  return file;
}

}  // namespace

void write_json(const AttentionData& data, const std::string& path, JsonSchema schema) {
  const fmt::memory_buffer out = schema == JsonSchema::kFlat ? flat_schema(data) : attnhook_schema(data);
  write_atomically(path, "attention file", out.data(), out.size());
}

AttentionData read_json(const std::string& path) {
  const std::string content = read_file(path, "attention file");
  TakenArrays taken = take_value_arrays(content);
  json document;
  try {
    document = json::parse(taken.text);
  } catch (const json::parse_error& e) {
    // e.what(): "[json.exception.parse_error.101] parse error at line 3, column 7: ..."
    throw Error(fmt::format("attention file '{}' is not valid JSON: {}", path,
                            parse_error_in_file(e.what(), e.byte, taken, content)));
  }
  if (!document.is_object()) schema_error(path, "the top level must be an object");
  if (document.contains("format")) {
    if (document["format"] != "attnhook") schema_error(path, fmt::format("unknown format {}", document["format"].dump()));
    return read_attnhook_schema(document, path, taken.arrays);
  }
  if (document.contains("attention_matrices")) return read_flat_schema(document, path);
  schema_error(path, "neither attnhook's schema (\"format\": \"attnhook\") nor the flat one (\"attention_matrices\")");
}

AttentionData read_attention(const std::string& path) {
  const bool npz = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npz") == 0;
  return npz ? read_npz(path) : read_json(path);
}

}  // namespace attnhook::detail
