// Internal: the custom ops that hooked TorchScript graphs call, and the slot table
// that tells them where to record.
//
//   attnhook::capturing(int slot) -> bool         true while slot's hooker is capturing
//   attnhook::record(Tensor weights, int slot) -> ()   records a softmax output
//   attnhook::record_sdpa(Tensor query, Tensor key, Tensor? attn_mask, bool is_causal,
//                         float? scale, bool enable_gqa, int slot) -> ()
//       records the weights of a scaled_dot_product_attention call, recomputed from its
//       inputs (sdpa_weights.h) only while slot's hooker is capturing, and its scores
//       when the slot records scores
//   attnhook::record_scores(Tensor scores, int slot) -> ()   a softmax's input
//   attnhook::record_value(Tensor value, int name, int ordinal, int slot) -> ()
//       a named local (capture_values), copied
//
// Every hooked module instance carries an int attribute (kSlotAttribute) holding a
// slot id; instances that share one ClassType are told apart by it. Slot ids come from
// a process-wide counter and are never reused, so a graph that outlives its hooker
// finds no slot and records nothing (slot -1: never hooked). The ops are registered
// with AliasAnalysisKind::CONSERVATIVE: the JIT treats them as side effects and
// neither removes, folds nor reorders them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "capture/recorder.h"

namespace attnhook::detail {

inline constexpr char kSlotAttribute[] = "_attnhook_slot";
inline constexpr char kCapturingOp[] = "attnhook::capturing";
inline constexpr char kRecordOp[] = "attnhook::record";
inline constexpr char kRecordSdpaOp[] = "attnhook::record_sdpa";
inline constexpr char kRecordScoresOp[] = "attnhook::record_scores";
inline constexpr char kRecordValueOp[] = "attnhook::record_value";

// What a slot records into. module_index < 0: the instance only guards fused fast
// paths (capturing() is true while the recorder is active) and records nothing.
struct SlotTarget {
  std::shared_ptr<Recorder> recorder;
  int64_t module_index = -1;
  int64_t num_heads = 0;  // 0: unknown (a 3-D softmax becomes [n, 1, tgt, src])
  int64_t scores_index = -1;  // the Recorder's entry for the scores, -1 = not recorded
  // capture_values: [name][ordinal] -> the Recorder's entry (see instrument_values).
  std::vector<std::vector<int64_t>> value_entries;
};

// Returns a new slot id (> 0).
int64_t register_slot(SlotTarget target);
void unregister_slot(int64_t slot) noexcept;

}  // namespace attnhook::detail
