#include "extract/layer_labels.h"

#include <algorithm>
#include <cctype>

namespace attnhook::cli {
namespace {

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool decoder_layer(const std::string& name) {
  const std::string n = lower(name);
  return contains(n, "decoder") || n.rfind("dec.", 0) == 0 || contains(n, ".dec.");
}

bool cross_layer(const std::string& name) {
  const std::string n = lower(name);
  for (const char* part : {"cross", "encdec", "enc_dec", "encoder_attn", "multihead_attn", "src_attn", "inter_attn"}) {
    if (contains(n, part)) return true;
  }
  return false;
}

// The preferred input if its length fits, else the first that fits, else none.
const LabelledInput* choose(const std::vector<LabelledInput>& inputs, const LabelledInput* preferred, int64_t length) {
  auto fits = [length](const LabelledInput& input) { return static_cast<int64_t>(input.length) == length; };
  if (preferred && fits(*preferred)) return preferred;
  const auto found = std::find_if(inputs.begin(), inputs.end(), fits);
  return found == inputs.end() ? nullptr : &*found;
}

}  // namespace

void label_layers(AttentionInfo& info, const std::vector<LayerAxes>& layers, const std::vector<LabelledInput>& inputs) {
  info.tokens.clear();
  info.attention_mask.clear();
  info.layer_tokens.clear();
  if (inputs.empty()) return;
  info.tokens = inputs[0].tokens;
  info.attention_mask = inputs[0].mask;
  if (inputs.size() == 1) return;  // the file's labels serve every axis of their length
  const LabelledInput* encoder = &inputs[0];
  const auto decoder_input = std::find_if(inputs.begin(), inputs.end(), [](const auto& i) { return i.decoder; });
  const LabelledInput* decoder = decoder_input == inputs.end() ? nullptr : &*decoder_input;
  for (const LayerAxes& layer : layers) {
    const LabelledInput* rows = choose(inputs, decoder_layer(layer.name) && decoder ? decoder : encoder, layer.rows);
    const LabelledInput* cols = choose(inputs, cross_layer(layer.name) ? encoder : rows, layer.cols);
    LayerTokens own;
    if (rows) own.tgt = rows->tokens, own.tgt_mask = rows->mask;
    if (cols) own.src = cols->tokens, own.src_mask = cols->mask;
    info.layer_tokens[layer.name] = std::move(own);
  }
}

}  // namespace attnhook::cli
