// Reading attn.json (attnhook's schema and the flat one of Python scripts), in passes over
// the mapped text, so that only the numbers a command draws are ever converted:
//   1. check the whole text (syntax, nesting, UTF-8) and read the small top-level fields;
//   2. walk the layers: names, labels, shapes; count each array of numbers (skimmed);
//   3. read(): convert the numbers of one call.
// Passes 1 and 2 give back the pages behind them (InputFile::release), so a 1 GB file
// costs the memory of the call drawn, not of the file.
#include <fmt/format.h>

#include <optional>

#include "attention_data.h"
#include "attnhook/error.h"
#include "input_file.h"
#include "json_fields.h"
#include "json_scanner.h"
#include "utf8.h"

namespace attnhook::detail {
namespace {

using Kind = JsonScanner::Kind;

// One call of attnhook's schema: its shape, and where its numbers are.
struct CallSpan {
  std::vector<int64_t> shape;
  size_t values_at = 0;  // the '[' of "values"
};

// One layer of the flat schema: attention_matrices[l], [head][i][j].
struct FlatLayer {
  int64_t heads = 0, rows = 0, cols = 0;
  size_t at = 0;  // its '['
};

class JsonReader : public AttentionReader {
 public:
  JsonReader(std::shared_ptr<const InputFile> file, const ReadLimits& limits);
  FloatArray read(size_t layer, size_t call) const override;

 private:
  [[noreturn]] void fail(const std::string& what, size_t at) const;
  JsonScanner scanner() const;
  std::string read_text(JsonScanner& json, const char* key) const;
  void index_attnhook_layers(size_t layers_at);
  void index_flat_layers(size_t matrices_at);
  JsonFields fields(JsonScanner& json) const { return JsonFields(json, path_, limits_); }
  void read_outputs(JsonScanner& json);

  std::string path_;
  ReadLimits limits_;
  std::shared_ptr<const InputFile> file_;
  std::vector<std::vector<CallSpan>> calls_;  // attnhook's schema, per layer
  bool flat_ = false;                         // which schema
  std::vector<FlatLayer> flat_layers_;        // the flat schema
};

JsonReader::JsonReader(std::shared_ptr<const InputFile> file, const ReadLimits& limits)
    : path_(file->path()), limits_(limits), file_(std::move(file)) {
  JsonScanner json = scanner();
  // Pass 1: the whole text is checked here; the later passes rely on it.
  if (json.next_kind() != Kind::kObject) {
    const size_t at = json.position();
    json.skip_value();
    if (!json.at_end()) json.syntax_error("more text after the top-level value", json.position());
    fail("the top level must be an object", at);
  }
  std::optional<size_t> format_at, version_at, layers_at, matrices_at, patch_grid_at, prefix_at;
  json.begin_object();
  for (std::string key; json.next_member(key);) {
    json.next_kind();
    const size_t at = json.position();
    if (key == "format") {
      format_at = at;
    } else if (key == "version") {
      version_at = at;
    } else if (key == "layers") {
      layers_at = at;
    } else if (key == "attention_matrices") {
      matrices_at = at;
    } else if (key == "model" || key == "text") {
      (key == "model" ? info_.model : info_.text) = read_text(json, key.c_str());
      continue;
    } else if (key == "tokens" || key == "src_tokens") {
      (key == "tokens" ? info_.tokens : info_.src_tokens) = fields(json).strings(key);
      continue;
    } else if (key == "attention_mask" || key == "src_attention_mask") {
      (key == "attention_mask" ? info_.attention_mask : info_.src_attention_mask) =
          fields(json).integers(key);
      continue;
    } else if (key == "outputs") {
      read_outputs(json);
      continue;
    } else if (key == "prediction") {
      info_.prediction = fields(json).prediction(key);
      continue;
    } else if (key == "patch_grid") {
      patch_grid_at = at;
      const std::vector<int64_t> grid = fields(json).integers(key);
      if (grid.size() != 2 || grid[0] <= 0 || grid[1] <= 0) {
        fail("\"patch_grid\" must be [rows, columns], two positive integers", at);
      }
      info_.patch_grid.rows = grid[0];
      info_.patch_grid.columns = grid[1];
      continue;
    } else if (key == "prefix_tokens") {
      prefix_at = at;
      const std::optional<int64_t> count = fields(json).integer();
      if (!count || *count < 0) fail("\"prefix_tokens\" must be a non-negative integer", at);
      info_.patch_grid.prefix_tokens = *count;
      continue;
    }
    json.skip_value();
  }
  if (!json.at_end()) json.syntax_error("more text after the top-level value", json.position());
  if (prefix_at && !patch_grid_at)
    fail("\"prefix_tokens\" needs \"patch_grid\" [rows, columns]", *prefix_at);

  if (format_at) {
    json.seek(*format_at, 1);
    if (json.next_kind() != Kind::kString)
      fail(fmt::format("\"format\" must be the string \"attnhook\", not {}",
                       json.describe(*format_at)),
           *format_at);
    const std::string format = json.read_string();
    if (format != "attnhook")
      fail(fmt::format("unknown format \"{}\"", printable(format, 40)), *format_at);
    if (!version_at) fail("\"version\" is missing (this reader knows 1)", *format_at);
    json.seek(*version_at, 1);
    const bool number = json.next_kind() == Kind::kNumber;
    const std::string_view version = number ? json.read_number_text() : std::string_view();
    if (version != "1") {
      fail(fmt::format("unsupported version {} (this reader knows 1)",
                       number ? printable(version, 40) : json.describe(*version_at)),
           *version_at);
    }
    if (!layers_at) fail("\"layers\" must be an array", *format_at);
    index_attnhook_layers(*layers_at);
  } else if (matrices_at) {
    flat_ = true;
    index_flat_layers(*matrices_at);
  } else {
    fail(
        "neither attnhook's schema (\"format\": \"attnhook\") nor the flat one "
        "(\"attention_matrices\")",
        0);
  }
  file_->release(0, file_->bytes().size());
}

JsonScanner JsonReader::scanner() const {
  JsonScanner json(file_->bytes(), path_, limits_.max_nesting_depth());
  auto file = file_;
  json.release_behind([file](size_t at) { file->release(0, at); });
  return json;
}

void JsonReader::fail(const std::string& what, size_t at) const {
  JsonScanner json(file_->bytes(), path_, limits_.max_nesting_depth());
  fields(json).fail(what, at);
}

void JsonReader::read_outputs(JsonScanner& json) {
  if (json.next_kind() != Kind::kArray)
    fail("\"outputs\" must be an array of {name, shape, values}", json.position());
  json.begin_array();
  for (size_t i = 0; json.next_element(); ++i)
    info_.outputs.push_back(fields(json).output(fmt::format("outputs[{}]", i)));
}

std::string JsonReader::read_text(JsonScanner& json, const char* key) const {
  const Kind kind = json.next_kind();
  if (kind == Kind::kNull) return json.read_null(), "";
  if (kind != Kind::kString)
    fail(fmt::format("\"{}\" must be a string, not {}", key, json.describe(json.position())),
         json.position());
  return json.read_string();
}

void JsonReader::index_attnhook_layers(size_t layers_at) {
  JsonScanner json = scanner();
  json.seek(layers_at, 1);
  if (json.next_kind() != Kind::kArray) fail("\"layers\" must be an array", layers_at);
  json.begin_array();
  for (size_t l = 0; json.next_element(); ++l) {
    const size_t layer_at = json.position();
    const std::string where = fmt::format("layers[{}]", l);
    if (json.next_kind() != Kind::kObject)
      fail(where + " must be an object {name, calls}", layer_at);
    std::optional<std::string> name;
    std::optional<LayerTokens> own;
    bool has_calls = false;
    std::vector<CallSpan> calls;
    json.begin_object();
    for (std::string key; json.next_member(key);) {
      const Kind kind = json.next_kind();
      const size_t at = json.position();
      if (key == "name") {
        if (kind != Kind::kString) fail(where + ".name must be a string", at);
        name = json.read_string();
      } else if (key == "tgt_tokens" || key == "src_tokens") {
        if (!own) own.emplace();
        (key == "tgt_tokens" ? own->tgt : own->src) = fields(json).strings(where + "." + key);
      } else if (key == "tgt_attention_mask" || key == "src_attention_mask") {
        if (!own) own.emplace();
        (key == "tgt_attention_mask" ? own->tgt_mask : own->src_mask) =
            fields(json).integers(where + "." + key);
      } else if (key == "calls") {
        if (kind != Kind::kArray) fail(where + ".calls must be an array", at);
        has_calls = true;
        calls.clear();
        json.begin_array();
        for (size_t c = 0; json.next_element(); ++c) {
          const std::string call_where = fmt::format("{}.calls[{}]", where, c);
          const size_t call_at = json.position();
          if (json.next_kind() != Kind::kObject)
            fail(call_where + " must be an object {shape, values}", call_at);
          std::optional<std::vector<int64_t>> shape;
          std::optional<size_t> values_at;
          int64_t count = 0, not_a_number = -1;
          json.begin_object();
          for (std::string member; json.next_member(member);) {
            if (member == "shape") {
              shape = fields(json).shape(call_where, 4, "[batch, heads, tgt_len, src_len]");
            } else if (member == "values") {
              if (json.next_kind() != Kind::kArray)
                fail(call_where + ".values must be an array", json.position());
              values_at = json.position();
              count = json.skim_numbers(not_a_number);
              if (not_a_number >= 0)
                fail(fmt::format("{}.values[{}] must be a number", call_where, not_a_number),
                     json.position());
            } else {
              json.skim_value();
            }
          }
          if (!shape) fail(call_where + ".shape must be [batch, heads, tgt_len, src_len]", call_at);
          if (!values_at) fail(call_where + ".values must be an array", call_at);
          const int64_t needed = checked_element_count(
              *shape, limits_.max_array_elements(),
              fmt::format("attention file '{}': {}", printable(path_, 4096), call_where));
          if (count != needed) {
            fail(fmt::format("{}.values has {} numbers, shape {} needs {}", call_where, count,
                             shape_text(*shape), needed),
                 *values_at);
          }
          calls.push_back({std::move(*shape), *values_at});
        }
      } else {
        json.skim_value();
      }
    }
    if (!name) fail(where + ".name must be a string", layer_at);
    if (!has_calls) fail(where + ".calls must be an array", layer_at);
    if (own) info_.layer_tokens[*name] = std::move(*own);
    layers_.push_back({*name, calls.size()});
    calls_.push_back(std::move(calls));
  }
}

void JsonReader::index_flat_layers(size_t matrices_at) {
  JsonScanner json = scanner();
  json.seek(matrices_at, 1);
  if (json.next_kind() != Kind::kArray)
    fail("\"attention_matrices\" must be an array [layer][head][i][j]", matrices_at);
  json.begin_array();
  for (size_t l = 0; json.next_element(); ++l) {
    const std::string where = fmt::format("attention_matrices[{}]", l);
    FlatLayer layer;
    layer.at = json.position();
    const std::string not_3d = where + " must be a non-empty [head][i][j] array";
    if (json.next_kind() != Kind::kArray) fail(not_3d, layer.at);
    json.begin_array();
    for (int64_t h = 0; json.next_element(); ++h) {
      if (json.next_kind() != Kind::kArray) {
        fail(h == 0 ? not_3d
                    : fmt::format("{}[{}] must have {} rows like head 0", where, h, layer.rows),
             json.position());
      }
      const size_t head_at = json.position();
      int64_t rows = 0;
      json.begin_array();
      for (; json.next_element(); ++rows) {
        const size_t row_at = json.position();
        if (json.next_kind() != Kind::kArray) {
          if (h == 0 && rows == 0) fail(not_3d, row_at);
          fail(fmt::format("{}[{}][{}] must have {} numbers like row 0 of head 0", where, h, rows,
                           layer.cols),
               row_at);
        }
        int64_t not_a_number = -1;
        const int64_t cols = json.skim_numbers(not_a_number);
        if (not_a_number >= 0)
          fail(fmt::format("{}[{}][{}][{}] must be a number", where, h, rows, not_a_number),
               json.position());
        if (h == 0 && rows == 0) {
          if (cols == 0) fail(not_3d, row_at);
          layer.cols = cols;
        } else if (cols != layer.cols) {
          fail(fmt::format("{}[{}][{}] must have {} numbers like row 0 of head 0", where, h, rows,
                           layer.cols),
               row_at);
        }
      }
      if (h == 0) {
        if (rows == 0) fail(not_3d, head_at);
        layer.rows = rows;
      } else if (rows != layer.rows) {
        fail(fmt::format("{}[{}] must have {} rows like head 0", where, h, layer.rows), head_at);
      }
      layer.heads = h + 1;
    }
    if (layer.heads == 0) fail(not_3d, layer.at);
    checked_element_count({1, layer.heads, layer.rows, layer.cols}, limits_.max_array_elements(),
                          fmt::format("attention file '{}': {}", printable(path_, 4096), where));
    layers_.push_back({std::to_string(l), 1});
    flat_layers_.push_back(layer);
  }
}

FloatArray JsonReader::read(size_t layer, size_t call) const {
  JsonScanner json = scanner();
  JsonFields numbers = fields(json);
  std::vector<float> values;
  std::vector<int64_t> shape;
  size_t begin = 0;
  if (flat_) {
    const FlatLayer& flat = flat_layers_.at(layer);
    shape = {1, flat.heads, flat.rows, flat.cols};
    values.reserve(flat.heads * flat.rows * flat.cols);
    const std::string where = fmt::format("attention_matrices[{}]", layer);
    begin = flat.at;
    json.seek(flat.at, 2);
    json.begin_array();
    for (int64_t h = 0; json.next_element(); ++h) {
      json.begin_array();
      for (int64_t i = 0; json.next_element(); ++i) {
        json.begin_array();
        const std::string row = fmt::format("{}[{}][{}]", where, h, i);
        for (int64_t j = 0; json.next_element(); ++j) values.push_back(numbers.number(row, j));
      }
    }
  } else {
    const CallSpan& span = calls_.at(layer).at(call);
    shape = span.shape;
    values.reserve(checked_element_count(shape, limits_.max_array_elements(), path_));
    const std::string where = fmt::format("layers[{}].calls[{}].values", layer, call);
    begin = span.values_at;
    json.seek(span.values_at, 5);
    json.begin_array();
    for (int64_t i = 0; json.next_element(); ++i) values.push_back(numbers.number(where, i));
  }
  file_->release(begin, json.position());
  return FloatArray(std::move(shape), std::move(values));
}

}  // namespace

std::unique_ptr<AttentionReader> open_json(std::shared_ptr<const InputFile> file,
                                           const ReadLimits& limits) {
  return std::make_unique<JsonReader>(std::move(file), limits);
}

}  // namespace attnhook::detail
