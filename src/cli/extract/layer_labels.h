// Internal (extract plugin): which input labels which axis of each layer. A model with one
// token input labels every axis of its length with it (the file's tokens and mask). With
// two (an encoder input and a decoder input), each layer gets its own labels and masks:
//   rows (queries)  the decoder input in a layer named like a decoder ("decoder", "dec."),
//                   else the encoder input;
//   columns (keys)  the encoder input in a layer named like cross-attention ("cross",
//                   "encdec", "enc_dec", "encoder_attn", "multihead_attn" — torch.nn's
//                   TransformerDecoderLayer —, "src_attn", "inter_attn"), else the rows';
// an input whose length is not the axis' gives way to one whose length is; an axis no
// input fits stays unlabelled (the viewer numbers its positions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attnhook/formats.h"

namespace attnhook::cli {

struct LabelledInput {
  bool decoder = false;             // the decoder input (--tgt-ids, --tgt-text, a tgt parameter)
  std::vector<std::string> tokens;  // labels, or empty
  std::vector<int64_t> mask;        // 1 token, 0 padding, or empty
  size_t length = 0;                // positions
};

// A layer's name and the [tgt_len, src_len] of its first call.
struct LayerAxes {
  std::string name;
  int64_t rows = 0;
  int64_t cols = 0;
};

// Sets info.tokens, info.attention_mask and info.layer_tokens from `inputs` (encoder
// input first).
void label_layers(AttentionInfo& info, const std::vector<LayerAxes>& layers, const std::vector<LabelledInput>& inputs);

}  // namespace attnhook::cli
