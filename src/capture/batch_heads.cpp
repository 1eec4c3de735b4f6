#include "capture/batch_heads.h"

namespace attnhook::detail {

at::Tensor as_batch_heads(const at::Tensor& probs, int64_t num_heads) {
  switch (probs.dim()) {
    case 0:
      return probs.reshape({1, 1, 1, 1});
    case 1:
      return probs.reshape({1, 1, 1, probs.size(0)});
    case 2:
      return probs.reshape({1, 1, probs.size(0), probs.size(1)});
    case 3:
      if (num_heads > 0 && probs.size(0) % num_heads == 0) {
        return probs.reshape({probs.size(0) / num_heads, num_heads, probs.size(1), probs.size(2)});
      }
      return probs.unsqueeze(1);
    case 4:
      return probs;
    default:
      return probs.reshape({-1, probs.size(-3), probs.size(-2), probs.size(-1)});
  }
}

}  // namespace attnhook::detail
