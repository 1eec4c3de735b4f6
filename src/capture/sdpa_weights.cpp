#include "sdpa_weights.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/version.h>

#include <cmath>
#include <limits>
#include <vector>

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

// q · kᵀ · scale: [..., heads, tgt, src], float32 (double for double inputs).
// tracked: autograd records the result (keep_grad), so no out= variants (they refuse it).
at::Tensor scaled_scores(const at::Tensor& query, const at::Tensor& key, double scale, bool tracked) {
  const int64_t heads = query.dim() >= 3 ? query.size(-3) : 1;
  const int64_t kv_heads = key.dim() >= 3 ? key.size(-3) : 1;
  if (query.dim() >= 3 && key.dim() >= 3 && heads != kv_heads && kv_heads > 0 && heads % kv_heads == 0) {
    // Grouped-query attention: query heads h = g * group + i read key head g. Grouping the
    // query instead of repeating the keys keeps the keys' memory as it is. q and k each
    // scaled by √scale first, as SDPA's math path does (a negative scale, legal if odd,
    // goes on the query alone).
    const double root_scale = std::sqrt(std::abs(scale));
    const at::Tensor q = query.mul(scale < 0 ? -root_scale : root_scale);
    const at::Tensor k = key.mul(root_scale);
    const int64_t group = heads / kv_heads;
    return at::matmul(q.unflatten(-3, {kv_heads, group}), k.unsqueeze(-3).transpose(-2, -1)).flatten(-4, -3);
  }
  if (!tracked && query.dim() >= 2 && query.dim() == key.dim() &&
      query.sizes().slice(0, query.dim() - 2).equals(key.sizes().slice(0, key.dim() - 2))) {
    // The common case, in one GEMM with the scale folded in (no pass over q, k or the
    // scores for it): the leading dimensions flattened into one batch.
    const at::Tensor q = query.reshape({-1, query.size(-2), query.size(-1)});  // [n, tgt, E]
    const at::Tensor k = key.reshape({-1, key.size(-2), key.size(-1)});        // [n, src, E]
    at::Tensor scores = at::empty({q.size(0), q.size(1), k.size(1)}, q.options());
    at::baddbmm_out(scores, scores, q, k.transpose(1, 2), /*beta=*/0, /*alpha=*/scale);
    std::vector<int64_t> shape(query.sizes().begin(), query.sizes().end() - 1);
    shape.push_back(key.size(-2));
    return scores.view(shape);
  }
  // Broadcast leading dimensions (SDPA allows them; matmul broadcasts), or tracked.
  return at::matmul(query, key.transpose(-2, -1)).mul_(scale);
}

}  // namespace

at::Tensor sdpa_weights(const SdpaInputs& in) { return sdpa_attention(in, false).weights; }

SdpaAttention sdpa_attention(const SdpaInputs& in, bool want_scores) {
  const at::ScalarType compute = in.query.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const int64_t head_dim = in.query.size(-1);
  const double scale = in.scale ? *in.scale : 1.0 / std::sqrt(static_cast<double>(head_dim));
  const at::Tensor query = in.query.to(compute), key = in.key.to(compute);
  const bool tracked = at::GradMode::is_enabled() && (query.requires_grad() || key.requires_grad());
  at::Tensor scores = scaled_scores(query, key, scale, tracked);  // [..., heads, tgt, src]
  const int64_t tgt_len = scores.size(-2), src_len = scores.size(-1);

  const double minus_inf = -std::numeric_limits<double>::infinity();
  if (in.is_causal) {
    // Top-left: query i sees keys 0..i, whatever src_len is.
    const at::Tensor allowed = at::ones({tgt_len, src_len}, scores.options().dtype(at::kBool)).tril();
    scores.masked_fill_(allowed.logical_not(), minus_inf);
  }
  const bool mask_given = in.attn_mask && in.attn_mask->defined();
  if (mask_given) {
    const at::Tensor& mask = *in.attn_mask;
    const bool fits = at::infer_size(scores.sizes(), mask.sizes()) == scores.sizes().vec();
    if (mask.scalar_type() == at::kBool) {
      const at::Tensor masked_out = mask.logical_not();
      scores = fits ? scores.masked_fill_(masked_out, minus_inf) : scores.masked_fill(masked_out, minus_inf);
    } else {
      const at::Tensor bias = mask.to(compute);
      scores = fits ? scores.add_(bias) : scores.add(bias);
    }
  }
  SdpaAttention attention;
  if (want_scores) attention.scores = scores.to(in.query.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
  // Only a mask can mask a whole row (causal alone leaves key 0 to every query): without
  // one, plain softmax, in place over the scores (contiguous, computed above, never shared:
  // their copy was taken), which spares _safe_softmax's passes and a second buffer.
  at::Tensor weights;
  if (mask_given) {
    weights = masked_row_softmax(scores);
  } else if (!tracked && scores.is_contiguous()) {
    weights = at::_softmax_out(scores, scores, -1, /*half_to_float=*/false);
  } else {
    weights = at::softmax(scores, -1);
  }
  attention.weights = weights.to(in.query.scalar_type());
  return attention;
}

}  // namespace attnhook::detail
