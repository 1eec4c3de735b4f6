// attnhook plot / model-view / prepare / html: read an attention file, draw or convert it.
// Torch-free: files are read into arrays and drawn by the core of src/view/. plot reads
// only the call it draws; the others read every call.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "attention_data.h"
#include "attnhook/error.h"
#include "commands.h"
#include "layout.h"
#include "utf8.h"

namespace attnhook::cli {

namespace {

using detail::AttentionData;
using detail::FloatArray;
using detail::LayerEntry;
using detail::printable;

constexpr size_t kListedLayers = 20;  // a message lists at most this many layer names

struct Selected {
  std::string name;
  FloatArray weights;  // [batch, heads, tgt, src]
};

std::string layer_list(const std::vector<LayerEntry>& layers) {
  std::vector<std::string> names;
  for (size_t i = 0; i < layers.size() && i < kListedLayers; ++i) {
    names.push_back(fmt::format("{} {}", i, printable(layers[i].name, 60)));
  }
  if (layers.size() > kListedLayers) names.push_back(fmt::format("... ({} layers)", layers.size()));
  return fmt::format("{}", fmt::join(names, ", "));
}

// The layer `layer` names (a name, else an index in model order) and its call `call`,
// read from the file now: the only numbers plot reads.
Selected select_layer(const detail::AttentionReader& file, const std::string& layer, int64_t call) {
  const auto& layers = file.layers();
  if (layers.empty()) throw Error("the attention file holds no layers");
  auto found = std::find_if(layers.begin(), layers.end(), [&](const LayerEntry& entry) { return entry.name == layer; });
  if (found == layers.end()) {
    const int64_t index = parse_integer(layer).value_or(-1);
    if (index < 0 || index >= static_cast<int64_t>(layers.size())) {
      throw Error(fmt::format("--layer '{}' is neither a layer index (0..{}) nor a layer name; layers: {}",
                              printable(layer), layers.size() - 1, layer_list(layers)));
    }
    found = layers.begin() + index;
  }
  if (call < 0 || call >= static_cast<int64_t>(found->calls)) {
    throw Error(fmt::format("--call {}: layer '{}' has {} call(s)", call, printable(found->name), found->calls));
  }
  return {found->name, file.read(found - layers.begin(), call)};
}

void check_batch(const Selected& layer, int64_t batch) {
  if (batch < 0 || batch >= layer.weights.size(0)) {
    throw Error(fmt::format("--batch {}: layer '{}' has batch size {}", batch, printable(layer.name),
                            layer.weights.size(0)));
  }
}

}  // namespace

void plot(const PlotArgs& args) {
  const auto file = detail::open_attention(args.input, args.limits);
  const Selected layer = select_layer(*file, args.layer, args.call);
  check_batch(layer, args.batch);
  const int64_t heads = layer.weights.size(1);
  auto options = GridOptions().title(layer.name).batch(args.batch);
  options.tgt_tokens(file->info().labels(layer.name, layer.weights.size(2), false));
  options.src_tokens(file->info().labels(layer.name, layer.weights.size(3), true));
  if (args.head == "all") return detail::save_grid(layer.weights, std::nullopt, args.output, options);
  const int64_t head = parse_integer(args.head).value_or(-1);
  if (head < 0 || head >= heads) {
    throw Error(fmt::format("--head '{}': layer '{}' has {} heads (0..{}) — or use all", printable(args.head),
                            printable(layer.name), heads, heads - 1));
  }
  detail::save_grid(layer.weights, head, args.output, options.title(fmt::format("{} head {}", layer.name, head)));
}

void model_view(const ModelViewArgs& args) {
  const AttentionData file = detail::read_attention(args.input, args.limits);
  detail::save_model_view(file.values, args.output, ModelViewOptions().batch(args.batch).title(args.input));
}

// bertviz's backend schema: {tokens, text, layers: [{layer_idx, heads: [{head_idx, attention}]}]},
// one batch item, padding positions removed from tokens and from both axes.
void prepare(const PrepareArgs& args) {
  const AttentionData file = detail::read_attention(args.input, args.limits);
  const int64_t count = static_cast<int64_t>(file.tokens.size());
  std::vector<bool> kept(count);
  std::vector<std::string> tokens;
  for (int64_t i = 0; i < count; ++i) {
    const auto& pads = args.pad_tokens;
    kept[i] = std::find(pads.begin(), pads.end(), file.tokens[i]) == pads.end();
    if (kept[i]) tokens.push_back(file.tokens[i]);
  }
  nlohmann::json out = {{"tokens", tokens}, {"text", file.text}, {"layers", nlohmann::json::array()}};
  int64_t layer_index = 0;
  for (const auto& [name, calls] : file.values) {
    for (const auto& call : calls) {
      check_batch({name, call}, args.batch);
      const FloatArray weights = call[args.batch];  // [heads, tgt, src]
      const int64_t rows = weights.size(1), cols = weights.size(2);
      // Padding is removed from an axis only when that axis runs over the tokens.
      auto keep = [&](int64_t length, int64_t i) { return length != count || kept[i]; };
      nlohmann::json heads = nlohmann::json::array();
      for (int64_t h = 0; h < weights.size(0); ++h) {
        const float* head = weights.data() + h * rows * cols;
        std::vector<std::vector<float>> matrix;
        for (int64_t i = 0; i < rows; ++i) {
          if (!keep(rows, i)) continue;
          std::vector<float>& row = matrix.emplace_back();
          for (int64_t j = 0; j < cols; ++j)
            if (keep(cols, j)) row.push_back(head[i * cols + j]);
        }
        heads.push_back({{"head_idx", h}, {"attention", matrix}});
      }
      out["layers"].push_back({{"layer_idx", layer_index++}, {"name", name}, {"heads", heads}});
    }
  }
  // The readers accept only UTF-8; `replace` keeps dump() from throwing whatever it is given.
  const std::string text = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  detail::write_atomically(args.output, "backend file", text.data(), text.size());
}

void html(const HtmlArgs& args) {
  const AttentionData file = detail::read_attention(args.input, args.limits);
  for (const auto& [name, calls] : file.values) {
    for (const auto& call : calls) check_batch({name, call}, args.batch);
  }
  detail::write_html(file, args.output, args.batch, args.title);
}

}  // namespace attnhook::cli
