// Internal: the process-wide registry of installed torch::nn observer plans and the
// one at::RecordFunction callback that serves them all.
//
// RecordFunction callbacks are plain function pointers, so their state lives here:
// an immutable snapshot of the installed plans (swapped on install/uninstall, stamped
// with a generation number) and, per thread, which selected module is open.
//
// What the callback records, on the thread where a selected module is open:
//   - the output of aten::softmax, viewed as [batch, heads, tgt, src];
//   - for aten::scaled_dot_product_attention (or one of its backend ops called
//     directly), the weights recomputed from its inputs (sdpa_weights.h) when the op
//     has returned; softmax ops inside it (its math fallback) are not recorded again.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <c10/core/TensorImpl.h>

#include "capture/recorder.h"

namespace attnhook::detail {

struct ObservedModule {
  size_t record_index = 0;  // into the plan's Recorder
  int64_t num_heads = 0;    // MultiheadAttention: its heads (one softmax per call); 0 = hand-written
  int64_t scores_index = -1;  // where the softmax's input goes (capture_scores), -1 = nowhere
};

// What one installed hooker watches.
struct ObserverPlan {
  static constexpr int kCloses = -1;  // parameter outside every selected module

  std::shared_ptr<Recorder> recorder;
  std::vector<ObservedModule> modules;
  // A read of this parameter opens modules[value] on the reading thread (value >= 0),
  // or closes whatever was open (kCloses). Parameters not listed leave the scope as is.
  std::unordered_map<const c10::TensorImpl*, int> parameters;
};

// Starts observing for `plan`; the first plan adds the global callback.
void register_plan(std::shared_ptr<const ObserverPlan> plan);
// Stops observing for `plan`; the last one removes the global callback. Idempotent.
void unregister_plan(const ObserverPlan* plan) noexcept;

}  // namespace attnhook::detail
