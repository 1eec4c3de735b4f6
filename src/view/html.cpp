// view.html: the viewer template (src/view/viewer.html, compiled in) filled with one
// batch item of every layer and call.
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "attention_data.h"
#include "attnhook/error.h"

namespace attnhook::detail {

extern const char* const kViewerTemplate;  // generated from src/view/viewer.html

namespace {

void append_weight(std::string& out, float value) {
  if (std::isfinite(value)) {
    fmt::format_to(std::back_inserter(out), "{}", value);
  } else {
    out += "null";  // the viewer draws it as 0
  }
}

// Nothing in the payload may end the <script> element or open an HTML comment.
std::string script_safe(const std::string& json) {
  std::string safe;
  safe.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (json.compare(i, 2, "</") == 0) {
      safe += "<\\/";
      ++i;
    } else if (json.compare(i, 4, "<!--") == 0) {
      safe += "\\u003c!--";
      i += 3;
    } else {
      safe += json[i];
    }
  }
  return safe;
}

// JSON text of `value`; bytes that are not UTF-8 become U+FFFD (the readers refuse
// them, but the C++ API may be handed any bytes).
template <typename T>
std::string dump(const T& value) {
  return nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string positions(int64_t length, std::vector<std::string> labels) {
  if (labels.empty()) {
    for (int64_t i = 0; i < length; ++i) labels.push_back(std::to_string(i));
  }
  return dump(labels);
}

}  // namespace

std::vector<std::string> axis_labels(const std::map<std::string, LayerTokens>& layer_tokens,
                                     const std::vector<std::string>& src_tokens,
                                     const std::vector<std::string>& tokens,
                                     const std::string& layer, int64_t length, bool keys) {
  const auto own = layer_tokens.find(layer);
  if (own != layer_tokens.end()) {
    const auto& list = keys ? own->second.src : own->second.tgt;
    if (static_cast<int64_t>(list.size()) == length) return list;
  }
  if (keys && static_cast<int64_t>(src_tokens.size()) == length) return src_tokens;
  if (static_cast<int64_t>(tokens.size()) == length) return tokens;
  return {};
}

std::vector<std::string> AttentionData::labels(const std::string& layer, int64_t length, bool keys) const {
  return axis_labels(layer_tokens, src_tokens, tokens, layer, length, keys);
}

void write_html(const AttentionData& file, const std::string& path, int64_t batch, const std::string& title) {
  std::string payload =
      "{\"title\":" + dump(title.empty() ? file.model : title) + ",\"layers\":[";
  bool first = true;
  for (const auto& [name, calls] : file.values) {
    for (size_t c = 0; c < calls.size(); ++c) {
      if (calls[c].dim() != 4) {
        throw Error(fmt::format("save_html: layer '{}' call {} has shape {}, not [batch, heads, tgt, src]", name, c,
                                shape_text(calls[c].shape())));
      }
      if (batch < 0 || batch >= calls[c].size(0)) {
        throw Error(fmt::format("save_html: batch {} is out of range for layer '{}' (batch size {})", batch, name,
                                calls[c].size(0)));
      }
      const FloatArray weights = calls[c][batch];
      const int64_t heads = weights.size(0), rows = weights.size(1), cols = weights.size(2);
      payload += fmt::format("{}{{\"name\":{},\"call\":{},\"tgt_tokens\":{},\"src_tokens\":{},\"heads\":[",
                             first ? "" : ",", dump(name), c,
                             positions(rows, file.labels(name, rows, false)), positions(cols, file.labels(name, cols, true)));
      first = false;
      const float* data = weights.data();
      for (int64_t h = 0; h < heads; ++h) {
        payload += h ? ",[" : "[";
        for (int64_t i = 0; i < rows; ++i) {
          payload += i ? ",[" : "[";
          for (int64_t j = 0; j < cols; ++j) {
            if (j) payload += ',';
            append_weight(payload, data[(h * rows + i) * cols + j]);
          }
          payload += ']';
        }
        payload += ']';
      }
      payload += "]}";
    }
  }
  payload += "]}";
  std::string page = kViewerTemplate;
  const std::string placeholder = "/*ATTNHOOK_DATA*/null";
  const auto at = page.find(placeholder);
  if (at == std::string::npos) throw Error("save_html: the built-in viewer template has no data placeholder");
  page.replace(at, placeholder.size(), script_safe(payload));
  write_atomically(path, "viewer page", page.data(), page.size());
}

}  // namespace attnhook::detail
