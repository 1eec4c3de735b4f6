#include "capture/torchscript/script_ops.h"

#include "capture/batch_heads.h"
#include "capture/sdpa_weights.h"

#include <ATen/record_function.h>
#include <ATen/core/grad_mode.h>
#include <torch/library.h>

#include <atomic>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

namespace attnhook::detail {
namespace {

class SlotTable {
 public:
  int64_t add(SlotTarget target) {
    const int64_t slot = next_.fetch_add(1, std::memory_order_relaxed);
    std::unique_lock<std::shared_mutex> lock(mutex_);
    slots_.emplace(slot, std::move(target));
    return slot;
  }
  void remove(int64_t slot) {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    slots_.erase(slot);
  }
  // A copy: the recorder must outlive the lookup even if the hooker dies meanwhile.
  bool find(int64_t slot, SlotTarget& target) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    const auto it = slots_.find(slot);
    if (it == slots_.end()) return false;
    target = it->second;
    return true;
  }
  bool capturing(int64_t slot) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    const auto it = slots_.find(slot);
    return it != slots_.end() && it->second.recorder->active();
  }

 private:
  std::atomic<int64_t> next_{1};
  mutable std::shared_mutex mutex_;
  std::unordered_map<int64_t, SlotTarget> slots_;
};

SlotTable& slot_table() {
  static SlotTable* table = new SlotTable();  // never destroyed: graphs may run at exit
  return *table;
}

bool capturing_op(int64_t slot) { return slot > 0 && slot_table().capturing(slot); }

// The recording target of `slot`, if its hooker is capturing.
std::optional<SlotTarget> capturing_target(int64_t slot) {
  SlotTarget target;
  if (slot <= 0 || !slot_table().find(slot, target) || target.module_index < 0) return std::nullopt;
  if (!target.recorder->active()) return std::nullopt;
  return target;
}

void record_op(const at::Tensor& weights, int64_t slot) {
  const auto target = capturing_target(slot);
  if (!target || !weights.defined()) return;
  at::DisableRecordFunctionGuard no_observation;  // the view is an ATen op too
  target->recorder->record(static_cast<size_t>(target->module_index), as_batch_heads(weights, target->num_heads));
}

// c10::optional: LibTorch 1.13's op registration knows no std::optional (2.x: the same type).
void record_sdpa_op(const at::Tensor& query, const at::Tensor& key, const c10::optional<at::Tensor>& attn_mask,
                    bool is_causal, c10::optional<double> scale, bool enable_gqa, int64_t slot) {
  const auto target = capturing_target(slot);
  if (!target) return;
  at::DisableRecordFunctionGuard no_observation;  // torch::nn hookers need not see the recomputation
  std::optional<at::NoGradGuard> no_grad;
  if (!target->recorder->options().keep_grad()) no_grad.emplace();
  const bool scores = target->scores_index >= 0;
  SdpaInputs inputs{query, key, std::nullopt, is_causal, std::nullopt, enable_gqa};
  if (attn_mask.has_value()) inputs.attn_mask = *attn_mask;
  if (scale.has_value()) inputs.scale = *scale;
  const SdpaAttention attention = sdpa_attention(inputs, scores);
  target->recorder->record(static_cast<size_t>(target->module_index), attention.weights);
  if (scores) target->recorder->record(static_cast<size_t>(target->scores_index), attention.scores);
}

void record_scores_op(const at::Tensor& scores, int64_t slot) {
  const auto target = capturing_target(slot);
  if (!target || target->scores_index < 0 || !scores.defined()) return;
  at::DisableRecordFunctionGuard no_observation;
  target->recorder->record(static_cast<size_t>(target->scores_index), as_batch_heads(scores, target->num_heads));
}

void record_value_op(const at::Tensor& value, int64_t name, int64_t ordinal, int64_t slot) {
  const auto target = capturing_target(slot);
  if (!target || !value.defined() || name < 0 || name >= static_cast<int64_t>(target->value_entries.size())) return;
  const auto& ordinals = target->value_entries[name];
  if (ordinal < 0 || ordinal >= static_cast<int64_t>(ordinals.size())) return;
  at::DisableRecordFunctionGuard no_observation;
  target->recorder->record(static_cast<size_t>(ordinals[ordinal]), value, /*copy=*/true);
}

}  // namespace

int64_t register_slot(SlotTarget target) { return slot_table().add(std::move(target)); }

void unregister_slot(int64_t slot) noexcept {
  try {
    slot_table().remove(slot);
  } catch (...) {  // a failing mutex leaves the slot registered; its recorder is inactive
  }
}

TORCH_LIBRARY(attnhook, m) {
  m.def(
      torch::schema("attnhook::capturing(int slot) -> bool", c10::AliasAnalysisKind::CONSERVATIVE),
      &capturing_op);
  m.def(torch::schema("attnhook::record(Tensor weights, int slot) -> ()",
                      c10::AliasAnalysisKind::CONSERVATIVE),
        &record_op);
  m.def(torch::schema("attnhook::record_sdpa(Tensor query, Tensor key, Tensor? attn_mask, bool is_causal, "
                      "float? scale, bool enable_gqa, int slot) -> ()",
                      c10::AliasAnalysisKind::CONSERVATIVE),
        &record_sdpa_op);
  m.def(torch::schema("attnhook::record_scores(Tensor scores, int slot) -> ()", c10::AliasAnalysisKind::CONSERVATIVE),
        &record_scores_op);
  m.def(torch::schema("attnhook::record_value(Tensor value, int name, int ordinal, int slot) -> ()",
                      c10::AliasAnalysisKind::CONSERVATIVE),
        &record_value_op);
}

}  // namespace attnhook::detail
