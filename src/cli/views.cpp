// attnhook plot / model-view / prepare / html: read an attention file, draw or convert it.
// Torch-free: files are read into arrays and drawn by the core of src/view/. plot reads
// only the calls it draws; the others read every call. Output directories are created.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "atomic_file.h"
#include "attention_data.h"
#include "attnhook/error.h"
#include "commands.h"
#include "layout.h"
#include "padding.h"
#include "select_layer.h"
#include "utf8.h"

namespace attnhook::cli {

namespace {

using detail::AttentionData;
using detail::FloatArray;
using detail::LayerEntry;
using detail::printable;

constexpr size_t kListedLayers = 20;    // a message lists at most this many layer names
constexpr size_t kShownClasses = 8;     // a title names at most this many predicted classes
constexpr size_t kFileNameBytes = 200;  // a layer's file name is cut to this (NAME_MAX is 255)

std::string layer_list(const std::vector<LayerEntry>& layers) {
  std::vector<std::string> names;
  for (size_t i = 0; i < layers.size() && i < kListedLayers; ++i) {
    names.push_back(fmt::format("{} {}", i, printable(layers[i].name, 60)));
  }
  if (layers.size() > kListedLayers) names.push_back(fmt::format("... ({} layers)", layers.size()));
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

size_t find_layer(const std::vector<LayerEntry>& layers, const std::string& layer,
                  bool all_accepted) {
  if (layers.empty()) throw Error("the attention file holds no layers");
  auto found = std::find_if(layers.begin(), layers.end(),
                            [&](const LayerEntry& entry) { return entry.name == layer; });
  if (found != layers.end()) return found - layers.begin();
  const int64_t index = parse_integer(layer).value_or(-1);
  if (index < 0 || index >= static_cast<int64_t>(layers.size())) {
    throw Error(
        fmt::format("--layer '{}' is neither a layer index (0..{}) nor a layer name{}; layers: {}",
                    printable(layer), layers.size() - 1,
                    all_accepted && layer != "all" ? " (nor all)" : "", layer_list(layers)));
  }
  return static_cast<size_t>(index);
}

// The only numbers plot reads.
Selected read_call(const detail::AttentionReader& file, size_t index, int64_t call) {
  const LayerEntry& layer = file.layers()[index];
  if (call < 0 || call >= static_cast<int64_t>(layer.calls)) {
    throw Error(fmt::format("--call {}: layer '{}' has {} call(s)", call, printable(layer.name),
                            layer.calls));
  }
  return {layer.name, file.read(index, call)};
}

void check_batch(const Selected& layer, int64_t batch) {
  if (batch < 0 || batch >= layer.weights.size(0)) {
    throw Error(fmt::format("--batch {}: layer '{}' has batch size {}", batch,
                            printable(layer.name), layer.weights.size(0)));
  }
}

namespace {

// The axis' labels, else its position numbers 0, 1, ...: the grid thins them as it thins
// tokens (every 1st, 2nd, 5th, 10th, 20th, ... label), so 512 positions stay legible.
std::vector<std::string> labels_or_positions(const AttentionInfo& info, const std::string& layer,
                                             int64_t length, bool keys) {
  std::vector<std::string> labels = info.labels(layer, length, keys);
  if (labels.empty()) {
    for (int64_t i = 0; i < length; ++i) labels.push_back(std::to_string(i));
  }
  return labels;
}

void draw(const AttentionInfo& info, const Selected& layer, const PlotArgs& args,
          const std::string& path) {
  check_batch(layer, args.batch);
  const int64_t heads = layer.weights.size(1);
  auto options = GridOptions().title(layer.name).batch(args.batch);
  options.tgt_tokens(labels_or_positions(info, layer.name, layer.weights.size(2), false));
  options.src_tokens(labels_or_positions(info, layer.name, layer.weights.size(3), true));
  if (args.head == "all") {
    detail::create_parent_directories(path, "attention image");
    return detail::save_grid(layer.weights, std::nullopt, path, options);
  }
  const int64_t head = parse_integer(args.head).value_or(-1);
  if (head < 0 || head >= heads) {
    throw Error(fmt::format("--head '{}': layer '{}' has {} heads (0..{}) — or use all",
                            printable(args.head), printable(layer.name), heads, heads - 1));
  }
  detail::create_parent_directories(path, "attention image");
  detail::save_grid(layer.weights, head, path,
                    options.title(fmt::format("{} head {}", layer.name, head)));
}

// A file name for `layer` that every file system takes: letters, digits, '.', '-' and '_'
// kept, anything else '_'; never hidden, "." or ".."; cut to kFileNameBytes; made unique
// among `taken` with "_2", "_3", ...
std::string file_name(const std::string& layer, std::set<std::string>& taken) {
  std::string name;
  for (char c : layer) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_';
    name += safe ? c : '_';
  }
  if (name.empty() || name[0] == '.') name = "layer" + name;
  name.resize(std::min(name.size(), kFileNameBytes));
  std::string unique = name;
  for (int n = 2; !taken.insert(unique).second; ++n) unique = fmt::format("{}_{}", name, n);
  return unique + ".png";
}

// "predicted: positive (class 1, p = 0.97)"; several positions: "predicted: 3 1 4 ... (8)".
std::string prediction_text(const Prediction& p) {
  if (p.empty() || p.class_ids.empty()) return "";
  auto name = [&](size_t i) {
    return p.class_names.empty() ? std::to_string(p.class_ids[i]) : p.class_names[i];
  };
  if (p.class_ids.size() == 1) {
    const std::string probability =
        p.probabilities.empty() ? "" : fmt::format(", p = {:.2f}", p.probabilities[0]);
    return fmt::format("predicted: {} (class {}{})", name(0), p.class_ids[0], probability);
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < p.class_ids.size() && i < kShownClasses; ++i) names.push_back(name(i));
  return fmt::format("predicted: {}{} ({} positions)", fmt::join(names, " "),
                     p.class_ids.size() > kShownClasses ? " ..." : "", p.class_ids.size());
}

}  // namespace

void plot(const PlotArgs& args) {
  const auto file = detail::open_attention(args.input, args.limits);
  const auto& layers = file->layers();
  if (args.layer != "all" ||
      std::any_of(layers.begin(), layers.end(), [](const auto& l) { return l.name == "all"; })) {
    const size_t index = find_layer(layers, args.layer);
    return draw(file->info(), read_call(*file, index, args.call), args, args.output);
  }
  // Every layer: -o is a directory, one grid per layer named after it.
  if (layers.empty()) throw Error("the attention file holds no layers");
  if (args.output == "-")
    throw Error("--layer all writes one file per layer: -o must name a directory, not -");
  std::error_code error;
  if (std::filesystem::exists(args.output, error) &&
      !std::filesystem::is_directory(args.output, error)) {
    throw Error(fmt::format(
        "--layer all writes one file per layer: -o '{}' must be a directory, and it is a file",
        printable(args.output, 4096)));
  }
  std::set<std::string> taken;
  for (size_t index = 0; index < layers.size(); ++index) {
    const std::string path =
        (std::filesystem::path(args.output) / file_name(layers[index].name, taken)).string();
    draw(file->info(), read_call(*file, index, args.call), args, path);
  }
}

void model_view(const ModelViewArgs& args) {
  const AttentionData file = detail::read_attention(args.input, args.limits);
  const std::string predicted = prediction_text(file.prediction);
  const std::string title = predicted.empty() ? args.input : args.input + "  |  " + predicted;
  detail::create_parent_directories(args.output, "attention image");
  detail::save_model_view(file.values, args.output,
                          ModelViewOptions().batch(args.batch).title(title));
}

// bertviz's backend schema: {tokens, text, layers: [{layer_idx, heads: [{head_idx, attention}]}]},
// one batch item, padding positions removed from tokens and from both axes: positions
// whose attention mask is 0, or, for an axis without a mask, labelled with a pad token.
// A layer with its own labels (a decoder's, cross-attention) also lists them as
// tgt_tokens and src_tokens; the prediction, when the file has one, is kept.
void prepare(const PrepareArgs& args) {
  const AttentionData file = detail::read_attention(args.input, args.limits);
  const std::vector<std::string> none;
  const std::vector<std::string>& pads = args.keep_padding ? none : args.pad_tokens;
  auto kept = [&](const std::string& layer, int64_t rows, int64_t cols) {
    detail::KeptPositions positions = detail::kept_positions(file, layer, rows, cols, pads);
    if (args.keep_padding)
      positions = {std::vector<bool>(rows, true), std::vector<bool>(cols, true)};
    return positions;
  };
  const int64_t count = static_cast<int64_t>(file.tokens.size());
  const std::vector<std::string> tokens =
      detail::kept_labels(file.tokens, kept("", count, count).rows);
  nlohmann::json out = {
      {"tokens", tokens}, {"text", file.text}, {"layers", nlohmann::json::array()}};
  if (!file.prediction.empty()) {
    out["prediction"] = {{"output", file.prediction.output},
                         {"class_ids", file.prediction.class_ids},
                         {"class_names", file.prediction.class_names}};
  }
  int64_t layer_index = 0;
  for (const auto& [name, calls] : file.values) {
    for (const auto& call : calls) {
      check_batch({name, call}, args.batch);
      const FloatArray all = call[args.batch];  // [heads, tgt, src]
      const detail::KeptPositions positions = kept(name, all.size(1), all.size(2));
      const FloatArray weights = detail::without_padding(all, positions);
      const int64_t rows = weights.size(1), cols = weights.size(2);
      nlohmann::json heads = nlohmann::json::array();
      for (int64_t h = 0; h < weights.size(0); ++h) {
        const float* head = weights.data() + h * rows * cols;
        std::vector<std::vector<float>> matrix(rows);
        for (int64_t i = 0; i < rows; ++i) matrix[i].assign(head + i * cols, head + (i + 1) * cols);
        heads.push_back({{"head_idx", h}, {"attention", matrix}});
      }
      nlohmann::json layer = {{"layer_idx", layer_index++}, {"name", name}};
      if (file.layer_tokens.count(name)) {
        layer["tgt_tokens"] =
            detail::kept_labels(file.labels(name, all.size(1), false), positions.rows);
        layer["src_tokens"] =
            detail::kept_labels(file.labels(name, all.size(2), true), positions.cols);
      }
      layer["heads"] = std::move(heads);
      out["layers"].push_back(std::move(layer));
    }
  }
  // The readers accept only UTF-8; `replace` keeps dump() from throwing whatever it is given.
  const std::string text = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  detail::create_parent_directories(args.output, "backend file");
  detail::write_atomically(args.output, "backend file", text.data(), text.size());
}

void html(const HtmlArgs& args) {
  const AttentionData file = detail::read_attention(args.input, args.limits);
  for (const auto& [name, calls] : file.values) {
    for (const auto& call : calls) check_batch({name, call}, args.batch);
  }
  detail::create_parent_directories(args.output, "viewer page");
  detail::write_html(file, args.output, args.batch, args.title, args.keep_padding);
}

}  // namespace attnhook::cli
