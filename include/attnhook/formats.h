// The attention file as data, without LibTorch: one struct template over the array type.
// attnhook::AttentionFile (export.h) holds at::Tensors; the torch-free core of the
// command-line tool holds plain float arrays (src/view/attention_data.h). export.h
// documents the formats these fields are written to.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace attnhook {

// A layer's own axes, when they differ from the file's (cross-attention, or a decoder whose
// input is not the encoder's). Each list is empty when unknown.
struct LayerTokens {
  std::vector<std::string> tgt;   // query (row) labels
  std::vector<std::string> src;   // key (column) labels
  std::vector<int64_t> tgt_mask;  // attention mask of the rows: 1 token, 0 padding
  std::vector<int64_t> src_mask;  // attention mask of the columns
};

// attn.json's schema: attnhook's own, or the flat one of existing Python scripts.
enum class JsonSchema { kAttnhook, kFlat };

// The model's answer, read off one of its outputs (the first floating-point tensor:
// the logits of a classifier). Empty `output` = no prediction.
struct Prediction {
  std::string output;                    // the name of the output it comes from
  std::vector<int64_t> shape;            // that output's shape without its last dimension
  std::vector<int64_t> class_ids;        // arg-max over the last dimension, row-major
  std::vector<std::string> class_names;  // the names of class_ids (extract --labels), or empty
  std::vector<float> probabilities;      // softmax over the last dimension, at the arg-max

  bool empty() const { return output.empty(); }
};

// Where a vision transformer's key tokens sit on the picture: `prefix_tokens` tokens that
// are not patches (class token, distillation token, registers), then rows x columns
// patches, row-major. Empty (rows == 0) = unknown: the file is not a ViT's, or extract
// could not tell (attnhook overlay then needs --patch-grid).
struct PatchGrid {
  int64_t rows = 0;
  int64_t columns = 0;
  int64_t prefix_tokens = 0;

  bool empty() const { return rows == 0; }
};

// One output tensor of the model, by name: "output" for a single tensor, "output.<i>" for
// the i-th tensor of a tuple or list (nested: "output.<i>.<j>"), the key for a dict.
template <typename Array>
struct NamedOutput {
  std::string name;
  Array values;  // any shape; float32 after loading
};

// Everything but the arrays: names, labels, masks, the prediction and the patch grid.
struct AttentionInfo {
  std::string model;                    // where the weights came from (informational)
  std::string text;                     // the input text, if known
  std::vector<std::string> tokens;      // labels of the input (query) positions
  std::vector<int64_t> attention_mask;  // of the input positions: 1 token, 0 padding; empty = none
  std::vector<std::string>
      src_tokens;  // labels of key positions when they differ (cross-attention)
  std::vector<int64_t> src_attention_mask;          // of the key positions of src_tokens
  std::map<std::string, LayerTokens> layer_tokens;  // per layer name, when its axes differ
  Prediction prediction;                            // empty unless the model's output was kept
  PatchGrid patch_grid;                             // empty unless the model is a ViT

  // Labels for the query (keys = false) or key (keys = true) axis of `layer` with
  // `length` positions: the layer's own, else the file's (src_tokens for keys, then
  // tokens), else none. Only a list of exactly `length` labels counts.
  std::vector<std::string> labels(const std::string& layer, int64_t length, bool keys) const {
    return pick(layer, length, keys, &LayerTokens::tgt, &LayerTokens::src, src_tokens, tokens);
  }
  // The attention mask of that axis, chosen the same way; empty when none is known.
  std::vector<int64_t> mask(const std::string& layer, int64_t length, bool keys) const {
    return pick(layer, length, keys, &LayerTokens::tgt_mask, &LayerTokens::src_mask,
                src_attention_mask, attention_mask);
  }

 private:
  template <typename T>
  std::vector<T> pick(const std::string& layer, int64_t length, bool keys,
                      std::vector<T> LayerTokens::*tgt, std::vector<T> LayerTokens::*src,
                      const std::vector<T>& file_src, const std::vector<T>& file_tgt) const {
    auto fits = [length](const std::vector<T>& list) {
      return static_cast<int64_t>(list.size()) == length;
    };
    const auto own = layer_tokens.find(layer);
    if (own != layer_tokens.end() && fits(own->second.*(keys ? src : tgt)))
      return own->second.*(keys ? src : tgt);
    if (keys && fits(file_src)) return file_src;
    if (fits(file_tgt)) return file_tgt;
    return {};
  }
};

// An attention file: AttentionInfo, the model's outputs, and the recorded calls
// (`Calls`: layer name -> calls in model order, each [batch, heads, tgt_len, src_len]).
template <typename Array, typename Calls>
struct BasicAttentionFile : AttentionInfo {
  std::vector<NamedOutput<Array>> outputs;  // the model's output tensors; empty = not kept
  Calls values;
};

}  // namespace attnhook
