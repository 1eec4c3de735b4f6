#include "capture/torchscript/script_ops.h"

#include "capture/batch_heads.h"

#include <ATen/record_function.h>
#include <torch/library.h>

#include <atomic>
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

void record_op(const at::Tensor& weights, int64_t slot) {
  if (slot <= 0) return;
  SlotTarget target;
  if (!slot_table().find(slot, target) || target.module_index < 0) return;
  if (!target.recorder->active() || !weights.defined()) return;
  at::DisableRecordFunctionGuard no_observation;  // the view is an ATen op too
  const at::Tensor per_head = as_batch_heads(weights, target.num_heads);
  if (per_head.defined())
    target.recorder->record(static_cast<size_t>(target.module_index), per_head);
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
}

}  // namespace attnhook::detail
