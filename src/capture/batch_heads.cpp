#include "capture/batch_heads.h"

namespace attnhook::detail {

at::Tensor as_batch_heads(const at::Tensor& probs, int64_t num_heads) {
  if (probs.dim() == 4) return probs;
  if (probs.dim() == 3) {
    if (num_heads > 0 && probs.size(0) % num_heads == 0) {
      return probs.view({probs.size(0) / num_heads, num_heads, probs.size(1), probs.size(2)});
    }
    return probs.unsqueeze(1);
  }
  if (probs.dim() == 2) return probs.view({1, 1, probs.size(0), probs.size(1)});
  return at::Tensor();
}

}  // namespace attnhook::detail
