// Internal: attention weights in attnhook's one layout, [batch, heads, tgt_len, src_len].
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace attnhook::detail {

// A softmax output as [batch, heads, tgt_len, src_len]: 4-D as is; [batch * heads, tgt,
// src] viewed with num_heads when it divides dim 0, else [n, 1, tgt, src]; [tgt, src] as
// [1, 1, tgt, src]. Undefined for other ranks (not attention).
at::Tensor as_batch_heads(const at::Tensor& probs, int64_t num_heads);

}  // namespace attnhook::detail
