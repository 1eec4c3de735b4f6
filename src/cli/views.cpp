// attnhook plot / model-view / prepare / html: read an attention file, draw or convert it.
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "attnhook/attnhook.h"
#include "commands.h"

namespace attnhook::cli {

namespace {

struct Selected {
  std::string name;
  at::Tensor weights;  // [batch, heads, tgt, src]
};

std::string layer_list(const Values& values) {
  std::vector<std::string> names;
  for (const auto& [name, calls] : values) names.push_back(fmt::format("{} {}", names.size(), name));
  return fmt::format("{}", fmt::join(names, ", "));
}

Selected select_layer(const AttentionFile& file, const std::string& layer, int64_t call) {
  if (file.values.empty()) throw Error("the attention file holds no layers");
  const Values::Entry* found = nullptr;
  if (file.values.count(layer)) {
    for (const auto& entry : file.values) {
      if (entry.first == layer) found = &entry;
    }
  } else {
    const int64_t index = parse_integer(layer).value_or(-1);
    if (index < 0 || index >= static_cast<int64_t>(file.values.size())) {
      throw Error(fmt::format("--layer '{}' is neither a layer index (0..{}) nor a layer name; layers: {}", layer,
                              file.values.size() - 1, layer_list(file.values)));
    }
    found = &*(file.values.begin() + index);
  }
  const auto& calls = found->second;
  if (call < 0 || call >= static_cast<int64_t>(calls.size())) {
    throw Error(fmt::format("--call {}: layer '{}' has {} call(s)", call, found->first, calls.size()));
  }
  return {found->first, calls[call]};
}

void check_batch(const Selected& layer, int64_t batch) {
  if (batch < 0 || batch >= layer.weights.size(0)) {
    throw Error(fmt::format("--batch {}: layer '{}' has batch size {}", batch, layer.name, layer.weights.size(0)));
  }
}

}  // namespace

void plot(const PlotArgs& args) {
  const AttentionFile file = load_attention(args.input);
  const Selected layer = select_layer(file, args.layer, args.call);
  check_batch(layer, args.batch);
  const int64_t heads = layer.weights.size(1);
  auto options = GridOptions().title(layer.name).batch(args.batch);
  options.tgt_tokens(file.labels(layer.name, layer.weights.size(2), false));
  options.src_tokens(file.labels(layer.name, layer.weights.size(3), true));
  if (args.head == "all") return save_attention_grid(layer.weights, args.output, options);
  const int64_t head = parse_integer(args.head).value_or(-1);
  if (head < 0 || head >= heads) {
    throw Error(fmt::format("--head '{}': layer '{}' has {} heads (0..{}) — or use all", args.head, layer.name,
                            heads, heads - 1));
  }
  save_attention_heatmap(layer.weights, head, args.output, options.title(fmt::format("{} head {}", layer.name, head)));
}

void model_view(const ModelViewArgs& args) {
  const AttentionFile file = load_attention(args.input);
  save_model_view(file.values, args.output, ModelViewOptions().batch(args.batch).title(args.input));
}

// bertviz's backend schema: {tokens, text, layers: [{layer_idx, heads: [{head_idx, attention}]}]},
// one batch item, padding positions removed from tokens and from both axes.
void prepare(const PrepareArgs& args) {
  const AttentionFile file = load_attention(args.input);
  std::vector<int64_t> keep;
  std::vector<std::string> tokens;
  for (size_t i = 0; i < file.tokens.size(); ++i) {
    const auto& pads = args.pad_tokens;
    if (std::find(pads.begin(), pads.end(), file.tokens[i]) != pads.end()) continue;
    keep.push_back(static_cast<int64_t>(i));
    tokens.push_back(file.tokens[i]);
  }
  const at::Tensor kept = torch::tensor(keep, torch::kLong);
  nlohmann::json out = {{"tokens", tokens}, {"text", file.text}, {"layers", nlohmann::json::array()}};
  int64_t layer_index = 0;
  for (const auto& [name, calls] : file.values) {
    for (const auto& call : calls) {
      check_batch({name, call}, args.batch);
      at::Tensor weights = call.select(0, args.batch).to(torch::kFloat);  // [heads, tgt, src]
      const int64_t count = static_cast<int64_t>(file.tokens.size());
      if (weights.size(1) == count) weights = weights.index_select(1, kept);
      if (weights.size(2) == count) weights = weights.index_select(2, kept);
      nlohmann::json heads = nlohmann::json::array();
      for (int64_t h = 0; h < weights.size(0); ++h) {
        const at::Tensor head = weights[h].contiguous();
        std::vector<std::vector<float>> rows(head.size(0));
        for (int64_t i = 0; i < head.size(0); ++i) {
          const float* row = head[i].data_ptr<float>();
          rows[i].assign(row, row + head.size(1));
        }
        heads.push_back({{"head_idx", h}, {"attention", rows}});
      }
      out["layers"].push_back({{"layer_idx", layer_index++}, {"name", name}, {"heads", heads}});
    }
  }
  const std::string text = out.dump();
  detail::write_atomically(args.output, "backend file", text.data(), text.size());
}

void html(const HtmlArgs& args) {
  const AttentionFile file = load_attention(args.input);
  for (const auto& [name, calls] : file.values) {
    for (const auto& call : calls) check_batch({name, call}, args.batch);
  }
  save_html(file, args.output, args.batch, args.title);
}

}  // namespace attnhook::cli
