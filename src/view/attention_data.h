// Internal: attention files without LibTorch. AttentionData is attnhook::AttentionFile
// with arrays in place of tensors; the public save_*/load_* functions (export.h, which
// documents the formats and errors) convert and call these. The command-line viewer
// (plot, model-view, prepare, html) uses them directly and so never loads LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attnhook/formats.h"
#include "float_array.h"

namespace attnhook::detail {

struct AttentionData {
  std::string model;
  std::string text;
  std::vector<std::string> tokens;
  std::vector<std::string> src_tokens;
  std::map<std::string, LayerTokens> layer_tokens;
  NamedCalls values;  // each call [batch, heads, tgt_len, src_len] after reading

  std::vector<std::string> labels(const std::string& layer, int64_t length, bool keys) const;
};

// AttentionFile::labels and AttentionData::labels: the layer's own labels for the axis,
// else the file's (src_tokens for keys), else none; only lists of `length` count.
std::vector<std::string> axis_labels(const std::map<std::string, LayerTokens>& layer_tokens,
                                     const std::vector<std::string>& src_tokens,
                                     const std::vector<std::string>& tokens,
                                     const std::string& layer, int64_t length, bool keys);

void write_json(const AttentionData& data, const std::string& path, JsonSchema schema);
void write_npz(const AttentionData& data, const std::string& path);
void write_html(const AttentionData& data, const std::string& path, int64_t batch,
                const std::string& title);
AttentionData read_json(const std::string& path);
AttentionData read_npz(const std::string& path);
// By extension: ".npz" -> read_npz, anything else -> read_json.
AttentionData read_attention(const std::string& path);

}  // namespace attnhook::detail
