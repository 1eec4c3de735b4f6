// Internal: attention weights in attnhook's one layout, [batch, heads, tgt_len, src_len].
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace attnhook::detail {

// A softmax output as [batch, heads, tgt_len, src_len], sharing its memory (a view):
//   4-D                    as is;
//   [d0, ..., heads, tgt, src] (5-D and more: window and grid attention such as
//                          [B, windows, heads, P, P]) with the leading dimensions folded
//                          into batch: [d0 * ... , heads, tgt, src], row-major;
//   [batch * heads, tgt, src] (3-D) viewed with num_heads when it divides dim 0, else
//                          [n, 1, tgt, src];
//   [tgt, src]             as [1, 1, tgt, src];  [src] as [1, 1, 1, src].
// Never undefined: a selected module's softmax is always kept.
at::Tensor as_batch_heads(const at::Tensor& probs, int64_t num_heads);

}  // namespace attnhook::detail
