#include "capture/torchnn/observer_registry.h"

#include "capture/batch_heads.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include <ATen/record_function.h>
#include <c10/util/SmallVector.h>

namespace attnhook::detail {
namespace {

struct Hit {
  uint32_t plan;
  int module;  // >= 0 opens, ObserverPlan::kCloses closes
};

struct Snapshot {
  uint64_t generation = 0;
  std::vector<std::shared_ptr<const ObserverPlan>> plans;
  std::unordered_map<const c10::TensorImpl*, c10::SmallVector<Hit, 2>> parameters;
};

std::mutex registry_mutex;
std::shared_ptr<const Snapshot> current_snapshot = std::make_shared<Snapshot>();
std::atomic<uint64_t> current_generation{0};
at::CallbackHandle callback_handle = at::INVALID_CALLBACK_HANDLE;

// Per thread: the snapshot this thread works with and, per plan, the innermost
// selected module whose parameters it read last (-1 = none).
struct ThreadScope {
  uint64_t generation = ~uint64_t{0};
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<int> open;
};

ThreadScope& thread_scope() {
  thread_local ThreadScope scope;
  const uint64_t generation = current_generation.load(std::memory_order_acquire);
  if (scope.generation != generation) {
    std::lock_guard<std::mutex> lock(registry_mutex);
    scope.snapshot = current_snapshot;
    scope.generation = scope.snapshot->generation;
    scope.open.assign(scope.snapshot->plans.size(), -1);
  }
  return scope;
}

// Marks the aten::softmax calls whose output is wanted at the end callback.
struct SoftmaxContext : at::ObserverContext {};

std::unique_ptr<at::ObserverContext> on_op_start(const at::RecordFunction& fn) {
  ThreadScope& scope = thread_scope();
  const Snapshot& snapshot = *scope.snapshot;
  if (snapshot.plans.empty()) return nullptr;
  for (const c10::IValue& input : fn.inputs()) {
    if (!input.isTensor()) continue;
    const auto found = snapshot.parameters.find(input.toTensor().unsafeGetTensorImpl());
    if (found == snapshot.parameters.end()) continue;
    for (const Hit& hit : found->second) scope.open[hit.plan] = hit.module;
  }
  if (std::strcmp(fn.name(), "aten::softmax") != 0) return nullptr;
  for (int open : scope.open) {
    if (open >= 0) return std::make_unique<SoftmaxContext>();
  }
  return nullptr;
}

void on_op_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  if (context == nullptr) return;
  const auto& outputs = fn.outputs();
  if (outputs.empty() || !outputs[0].isTensor()) return;
  const at::Tensor& probs = outputs[0].toTensor();
  ThreadScope& scope = thread_scope();
  at::DisableRecordFunctionGuard no_observation;  // the views below are ATen ops too
  for (size_t p = 0; p < scope.open.size(); ++p) {
    const int innermost = scope.open[p];
    if (innermost < 0) continue;
    const ObserverPlan& plan = *scope.snapshot->plans[p];
    const at::Tensor weights = as_batch_heads(probs, plan.modules[innermost].num_heads);
    if (!weights.defined()) continue;
    for (int m = innermost; m >= 0; m = plan.modules[m].parent) {
      plan.recorder->record(plan.modules[m].record_index, weights);
    }
    // A MultiheadAttention call computes one softmax; what follows is its parent's.
    if (plan.modules[innermost].num_heads > 0) scope.open[p] = plan.modules[innermost].parent;
  }
}

// Callers hold registry_mutex.
void publish(std::vector<std::shared_ptr<const ObserverPlan>> plans) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->generation = current_snapshot->generation + 1;
  snapshot->plans = std::move(plans);
  for (uint32_t p = 0; p < snapshot->plans.size(); ++p) {
    for (const auto& [impl, module] : snapshot->plans[p]->parameters) {
      snapshot->parameters[impl].push_back(Hit{p, module});
    }
  }
  current_snapshot = std::move(snapshot);
  current_generation.store(current_snapshot->generation, std::memory_order_release);
}

}  // namespace

void register_plan(std::shared_ptr<const ObserverPlan> plan) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto plans = current_snapshot->plans;
  plans.push_back(std::move(plan));
  publish(std::move(plans));
  if (callback_handle == at::INVALID_CALLBACK_HANDLE) {
    callback_handle = at::addGlobalCallback(at::RecordFunctionCallback(on_op_start, on_op_end)
                                                .needsInputs(true)
                                                .needsOutputs(true)
                                                .scopes({at::RecordScope::FUNCTION}));
  }
}

void unregister_plan(const ObserverPlan* plan) noexcept {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto plans = current_snapshot->plans;
  const auto removed = std::remove_if(plans.begin(), plans.end(),
                                      [plan](const auto& p) { return p.get() == plan; });
  if (removed == plans.end()) return;
  plans.erase(removed, plans.end());
  publish(std::move(plans));
  if (current_snapshot->plans.empty() && callback_handle != at::INVALID_CALLBACK_HANDLE) {
    at::removeCallback(callback_handle);
    callback_handle = at::INVALID_CALLBACK_HANDLE;
  }
}

}  // namespace attnhook::detail
