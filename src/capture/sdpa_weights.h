// Internal: the attention weights that scaled_dot_product_attention (SDPA) uses but never
// returns, recomputed from its inputs. Both capture mechanisms call this: the torch::nn
// op observer at the end of an aten::scaled_dot_product_attention event, the TorchScript
// mechanism in the attnhook::record_sdpa op it inserts after each SDPA node.
#pragma once

#include <ATen/Tensor.h>

#include <optional>

namespace attnhook::detail {

// SDPA's inputs, as its schema names them (backend ops call the mask attn_bias).
struct SdpaInputs {
  at::Tensor query;                  // [..., heads, tgt_len, head_dim]
  at::Tensor key;                    // [..., kv_heads, src_len, head_dim]
  std::optional<at::Tensor> attn_mask;  // broadcastable to [..., heads, tgt_len, src_len]
  bool is_causal = false;
  std::optional<double> scale;       // none: 1 / sqrt(head_dim)
  bool enable_gqa = false;
};

// softmax(query · keyᵀ · scale + mask) over the keys, as SDPA's math path defines it:
//   - a bool mask is True = attend (False becomes -inf); a float mask is added;
//   - is_causal is the top-left causal mask: query i attends to keys j <= i, also when
//     tgt_len != src_len (it is not aligned to the end of the keys);
//   - with enable_gqa (or kv_heads < heads), query head h reads key head
//     h / (heads / kv_heads), as SDPA's repeat_interleave of the key heads does;
//   - a query row whose keys are all masked is all zeros on LibTorch 2.5 and newer (SDPA's
//     math path uses _safe_softmax there), NaN on older releases (plain softmax).
// Computed in float32 (double for double inputs) and returned in the query's dtype, on
// its device: [..., heads, tgt_len, src_len]. Dropout is never applied: these are the
// weights before dropout. Throws c10::Error when the shapes do not fit (SDPA itself
// rejects such calls).
at::Tensor sdpa_weights(const SdpaInputs& inputs);

// sdpa_weights, and with want_scores the softmax's input too (q·kᵀ·scale + mask, same
// dtype and layout); scores is undefined otherwise.
struct SdpaAttention {
  at::Tensor weights;
  at::Tensor scores;
};
SdpaAttention sdpa_attention(const SdpaInputs& inputs, bool want_scores);

}  // namespace attnhook::detail
