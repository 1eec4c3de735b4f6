// view.html: the viewer template (src/view/viewer.html, compiled in) filled with one
// batch item of every layer and call (padding left out, unless kept), the text, the
// model's prediction and outputs.
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "attention_data.h"
#include "attnhook/error.h"
#include "padding.h"

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

std::vector<std::string> positions(int64_t length, std::vector<std::string> labels) {
  if (labels.empty()) {
    for (int64_t i = 0; i < length; ++i) labels.push_back(std::to_string(i));
  }
  return labels;
}

constexpr int64_t kListedOutputNumbers = 32;  // the heading lists an output's numbers up to this many

// The prediction and the outputs, for the page's heading: {"text", "prediction", "outputs"}.
// Outputs are listed by name and shape; their numbers only when there are a few.
std::string answer(const AttentionData& file) {
  nlohmann::json out = {{"text", file.text}, {"prediction", nullptr}, {"outputs", nlohmann::json::array()}};
  const Prediction& p = file.prediction;
  if (!p.empty()) {
    std::vector<double> probabilities(p.probabilities.begin(), p.probabilities.end());
    for (double& value : probabilities) value = std::isfinite(value) ? value : 0;
    out["prediction"] = {{"output", p.output}, {"shape", p.shape}, {"class_ids", p.class_ids},
                         {"class_names", p.class_names}, {"probabilities", probabilities}};
  }
  for (const auto& [name, values] : file.outputs) {
    nlohmann::json entry = {{"name", name}, {"shape", values.shape()}};
    if (values.numel() <= kListedOutputNumbers) {
      std::vector<double> numbers(values.data(), values.data() + values.numel());
      for (double& value : numbers) value = std::isfinite(value) ? value : 0;
      entry["values"] = numbers;
    }
    out["outputs"].push_back(entry);
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void write_html(const AttentionData& file, const std::string& path, int64_t batch, const std::string& title,
                bool keep_padding) {
  std::string payload = "{\"title\":" + dump(title.empty() ? file.model : title) + ",\"answer\":" + answer(file) +
                        ",\"layers\":[";
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
      FloatArray weights = calls[c][batch];  // [heads, tgt, src]
      std::vector<std::string> rows_labels = positions(weights.size(1), file.labels(name, weights.size(1), false));
      std::vector<std::string> cols_labels = positions(weights.size(2), file.labels(name, weights.size(2), true));
      if (!keep_padding) {
        const KeptPositions kept = kept_positions(file, name, weights.size(1), weights.size(2), {});
        weights = without_padding(weights, kept);
        rows_labels = kept_labels(rows_labels, kept.rows);
        cols_labels = kept_labels(cols_labels, kept.cols);
      }
      const int64_t heads = weights.size(0), rows = weights.size(1), cols = weights.size(2);
      payload += fmt::format("{}{{\"name\":{},\"call\":{},\"tgt_tokens\":{},\"src_tokens\":{},\"heads\":[",
                             first ? "" : ",", dump(name), c, dump(rows_labels), dump(cols_labels));
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
