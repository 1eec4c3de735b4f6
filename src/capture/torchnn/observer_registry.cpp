#include "capture/torchnn/observer_registry.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/record_function.h>
#include <c10/util/SmallVector.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "capture/batch_heads.h"
#include "capture/sdpa_weights.h"

namespace attnhook::detail {
namespace {

struct Hit {
  uint32_t plan;
  int module;  // >= 0 opens, ObserverPlan::kCloses closes
};

struct Snapshot {
  uint64_t generation = 0;
  bool keep_grad = false;       // some plan keeps captured tensors attached to autograd
  bool capture_scores = false;  // some plan records the softmax's input
  std::vector<std::shared_ptr<const ObserverPlan>> plans;
  std::unordered_map<const c10::TensorImpl*, c10::SmallVector<Hit, 2>> parameters;
};

std::mutex registry_mutex;
std::shared_ptr<const Snapshot> current_snapshot = std::make_shared<Snapshot>();
std::atomic<uint64_t> current_generation{0};
at::CallbackHandle callback_handle = at::INVALID_CALLBACK_HANDLE;

// Per thread: the snapshot this thread works with, per plan the selected module whose
// parameters it read last (-1 = none), and how many SDPA ops are running on it.
struct ThreadScope {
  uint64_t generation = ~uint64_t{0};
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<int> open;
  int sdpa_depth = 0;
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

bool any_open(const ThreadScope& scope) {
  return std::any_of(scope.open.begin(), scope.open.end(), [](int open) { return open >= 0; });
}

// Where an SDPA op's arguments sit in its schema; -1 = the op has no such argument.
struct SdpaArguments {
  int count = 0;
  int query = -1, key = -1, mask = -1, is_causal = -1, scale = -1, enable_gqa = -1;
};

// The public op and the backend ops it dispatches to (which a model may call directly).
bool is_sdpa(const char* name) {
  return std::strncmp(name, "aten::_scaled_dot_product_", 26) == 0 ||
         std::strcmp(name, "aten::scaled_dot_product_attention") == 0;
}

// By argument name, from the op's registered schema; cached per thread and op.
const SdpaArguments* sdpa_arguments(const at::RecordFunction& fn) {
  thread_local std::unordered_map<std::string, SdpaArguments> cache;
  const std::string name = fn.name();
  if (const auto it = cache.find(name); it != cache.end()) return it->second.query < 0 ? nullptr : &it->second;
  SdpaArguments& arguments = cache[name];
  const auto op_name = fn.operator_name();
  if (!op_name) return nullptr;
  const auto handle = c10::Dispatcher::singleton().findSchema(*op_name);
  if (!handle) return nullptr;
  const auto& schema_arguments = handle->schema().arguments();
  arguments.count = static_cast<int>(schema_arguments.size());
  for (int i = 0; i < arguments.count; ++i) {
    const std::string& argument = schema_arguments[i].name();
    if (argument == "query") arguments.query = i;
    if (argument == "key") arguments.key = i;
    if (argument == "attn_mask" || argument == "attn_bias") arguments.mask = i;
    if (argument == "is_causal") arguments.is_causal = i;
    if (argument == "scale") arguments.scale = i;
    if (argument == "enable_gqa") arguments.enable_gqa = i;
  }
  if (arguments.key < 0) arguments.query = -1;  // not an attention op after all
  return arguments.query < 0 ? nullptr : &arguments;
}

// fn.inputs() holds only during the start callback (LibTorch boxes the arguments of an
// unboxed call into a temporary), so what the end callback needs is taken at the start.

// Marks the aten::softmax calls whose output is wanted at the end callback; holds the
// softmax's input when some plan records scores.
struct SoftmaxContext : at::ObserverContext {
  at::Tensor scores;
};

// Marks an SDPA op: softmax inside it is not recorded. The count drops when the op's
// RecordFunction goes, also when the op throws.
struct SdpaContext : at::ObserverContext {
  explicit SdpaContext(ThreadScope& scope) : scope(scope) { ++scope.sdpa_depth; }
  ~SdpaContext() override { --scope.sdpa_depth; }
  ThreadScope& scope;
  std::optional<SdpaInputs> inputs;  // none: nested in another SDPA op, record nothing
};

// SDPA's query, key, mask, flags and scale, by schema position counted from the end: an
// interpreter may pass more of its stack. None when they are not what the schema says.
std::optional<SdpaInputs> sdpa_inputs_of(const at::RecordFunction& fn, const SdpaArguments& arguments) {
  const auto inputs = fn.inputs();
  if (static_cast<int>(inputs.size()) < arguments.count) return std::nullopt;
  const size_t base = inputs.size() - arguments.count;
  auto argument = [&](int index) -> const c10::IValue* { return index < 0 ? nullptr : &inputs[base + index]; };
  if (!argument(arguments.query)->isTensor() || !argument(arguments.key)->isTensor()) return std::nullopt;
  SdpaInputs sdpa;
  sdpa.query = argument(arguments.query)->toTensor();
  sdpa.key = argument(arguments.key)->toTensor();
  if (const auto* mask = argument(arguments.mask); mask && mask->isTensor()) sdpa.attn_mask = mask->toTensor();
  if (const auto* causal = argument(arguments.is_causal); causal && causal->isBool()) sdpa.is_causal = causal->toBool();
  if (const auto* scale = argument(arguments.scale); scale && scale->isDouble()) sdpa.scale = scale->toDouble();
  if (const auto* gqa = argument(arguments.enable_gqa); gqa && gqa->isBool()) sdpa.enable_gqa = gqa->toBool();
  return sdpa;
}

std::unique_ptr<at::ObserverContext> on_op_start(const at::RecordFunction& fn) {
  ThreadScope& scope = thread_scope();
  const Snapshot& snapshot = *scope.snapshot;
  if (snapshot.plans.empty()) return nullptr;
  for (const c10::IValue& input : fn.inputs()) {
    if (!input.isTensor()) continue;
    const auto found = snapshot.parameters.find(input.toTensor().unsafeGetTensorImpl());
    if (found == snapshot.parameters.end()) continue;
    for (const Hit& hit : found->second) {
      scope.open[hit.plan] = hit.module;
      if (hit.module >= 0) {
        const ObserverPlan& plan = *snapshot.plans[hit.plan];
        plan.recorder->note_run(plan.modules[hit.module].record_index);
      }
    }
  }
  const char* name = fn.name();
  if (std::strcmp(name, "aten::softmax") == 0) {
    if (scope.sdpa_depth > 0 || !any_open(scope)) return nullptr;
    auto context = std::make_unique<SoftmaxContext>();
    // softmax(Tensor self, int dim, ScalarType? dtype): self is the third argument from the end.
    const auto inputs = fn.inputs();
    if (snapshot.capture_scores && inputs.size() >= 3 && inputs[inputs.size() - 3].isTensor()) {
      context->scores = inputs[inputs.size() - 3].toTensor();
    }
    return context;
  }
  if (is_sdpa(name)) {
    if (scope.sdpa_depth > 0) return std::make_unique<SdpaContext>(scope);
    if (!any_open(scope)) return nullptr;
    const SdpaArguments* arguments = sdpa_arguments(fn);
    if (!arguments) return nullptr;
    auto context = std::make_unique<SdpaContext>(scope);
    context->inputs = sdpa_inputs_of(fn, *arguments);
    return context;
  }
  return nullptr;
}

// Records `weights` under the module open in each plan. A MultiheadAttention call
// computes one softmax: what follows belongs to no selected module until a parameter
// opens one again.
// `scores` (the softmax's input) goes to the modules that capture it.
void record_open(ThreadScope& scope, const at::Tensor& probs, const at::Tensor& scores) {
  for (size_t p = 0; p < scope.open.size(); ++p) {
    const int open = scope.open[p];
    if (open < 0) continue;
    const ObserverPlan& plan = *scope.snapshot->plans[p];
    const ObservedModule& module = plan.modules[open];
    plan.recorder->record(module.record_index, as_batch_heads(probs, module.num_heads));
    if (module.scores_index >= 0 && scores.defined()) {
      plan.recorder->record(static_cast<size_t>(module.scores_index), as_batch_heads(scores, module.num_heads));
    }
    if (module.num_heads > 0) scope.open[p] = -1;
  }
}

void on_op_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  if (context == nullptr) return;
  ThreadScope& scope = thread_scope();
  if (auto* sdpa = dynamic_cast<SdpaContext*>(context)) {
    // No outputs: the op threw, and recorded nothing.
    if (!sdpa->inputs || fn.outputs().empty() || !any_open(scope)) return;
    at::DisableRecordFunctionGuard no_observation;  // the recomputation runs ATen ops
    std::optional<at::NoGradGuard> no_grad;
    if (!scope.snapshot->keep_grad) no_grad.emplace();
    try {
      const SdpaAttention attention = sdpa_attention(*sdpa->inputs, scope.snapshot->capture_scores);
      record_open(scope, attention.weights, attention.scores);
    } catch (const std::exception&) {
      // SDPA accepted these inputs, so this does not happen; LibTorch would swallow it.
    }
    return;
  }
  const auto& outputs = fn.outputs();
  if (outputs.empty() || !outputs[0].isTensor()) return;
  at::DisableRecordFunctionGuard no_observation;  // the views below are ATen ops too
  record_open(scope, outputs[0].toTensor(), static_cast<SoftmaxContext*>(context)->scores);
}

// Callers hold registry_mutex.
void publish(std::vector<std::shared_ptr<const ObserverPlan>> plans) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->generation = current_snapshot->generation + 1;
  snapshot->plans = std::move(plans);
  for (uint32_t p = 0; p < snapshot->plans.size(); ++p) {
    const HookerOptions& options = snapshot->plans[p]->recorder->options();
    snapshot->keep_grad = snapshot->keep_grad || options.keep_grad();
    snapshot->capture_scores = snapshot->capture_scores || options.capture_scores();
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

