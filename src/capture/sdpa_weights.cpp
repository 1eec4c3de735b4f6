#include "sdpa_weights.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

namespace attnhook::detail {
namespace {

// Plain softmax, except that rows whose every score is -inf come out as zeros on
// LibTorch >= 2.5 (SDPA's math path calls _safe_softmax there), as NaN before.
at::Tensor masked_row_softmax(const at::Tensor& scores) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
  return at::_safe_softmax(scores, -1);
#else
  return at::softmax(scores, -1);
#endif
}

}  // namespace

at::Tensor sdpa_weights(const SdpaInputs& in) { return sdpa_attention(in, false).weights; }

SdpaAttention sdpa_attention(const SdpaInputs& in, bool want_scores) {
  const at::ScalarType compute = in.query.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const int64_t head_dim = in.query.size(-1);
  const double scale = in.scale ? *in.scale : 1.0 / std::sqrt(static_cast<double>(head_dim));
  // As SDPA's math path does it: q and k each scaled by √scale before the product, which
  // spares a pass over the [tgt, src] scores (the cost that grows with the sequence).
  // (A negative scale, legal if odd, goes on the query alone.)
  const double root_scale = std::sqrt(std::abs(scale));
  const at::Tensor query = in.query.to(compute).mul(
      scale < 0 ? -root_scale : root_scale);                  // [..., heads, tgt, head_dim]
  const at::Tensor key = in.key.to(compute).mul(root_scale);  // [..., kv_heads, src, head_dim]
  const int64_t tgt_len = query.size(-2), src_len = key.size(-2);

  at::Tensor scores;  // [..., heads, tgt, src]
  const int64_t heads = query.dim() >= 3 ? query.size(-3) : 1;
  const int64_t kv_heads = key.dim() >= 3 ? key.size(-3) : 1;
  if (query.dim() >= 3 && key.dim() >= 3 && heads != kv_heads && kv_heads > 0 &&
      heads % kv_heads == 0) {
    // Grouped-query attention: query heads h = g * group + i read key head g. Grouping the
    // query instead of repeating the keys keeps the keys' memory as it is.
    const int64_t group = heads / kv_heads;
    scores = at::matmul(query.unflatten(-3, {kv_heads, group}), key.unsqueeze(-3).transpose(-2, -1))
                 .flatten(-4, -3);
  } else {
    scores = at::matmul(query, key.transpose(-2, -1));
  }

  const double minus_inf = -std::numeric_limits<double>::infinity();
  if (in.is_causal) {
    // Top-left: query i sees keys 0..i, whatever src_len is.
    const at::Tensor allowed =
        at::ones({tgt_len, src_len}, scores.options().dtype(at::kBool)).tril();
    scores.masked_fill_(allowed.logical_not(), minus_inf);
  }
  if (in.attn_mask && in.attn_mask->defined()) {
    const at::Tensor& mask = *in.attn_mask;
    const bool fits = at::infer_size(scores.sizes(), mask.sizes()) == scores.sizes().vec();
    if (mask.scalar_type() == at::kBool) {
      const at::Tensor masked_out = mask.logical_not();
      scores = fits ? scores.masked_fill_(masked_out, minus_inf)
                    : scores.masked_fill(masked_out, minus_inf);
    } else {
      const at::Tensor bias = mask.to(compute);
      scores = fits ? scores.add_(bias) : scores.add(bias);
    }
  }
  SdpaAttention attention;
  // Only a mask can mask a whole row (causal alone leaves key 0 to every query): without
  // one, plain softmax, which spares _safe_softmax's passes over the scores.
  const bool mask_given = in.attn_mask && in.attn_mask->defined();
  attention.weights = (mask_given ? masked_row_softmax(scores) : at::softmax(scores, -1))
                          .to(in.query.scalar_type());
  if (want_scores) attention.scores = scores.to(in.query.scalar_type());
  return attention;
}

}  // namespace attnhook::detail
