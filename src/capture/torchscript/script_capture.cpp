// Capture for TorchScript modules. The hooker clones the model (sharing its tensors)
// and edits the clone's graphs (ir_rewrite.h): after every softmax and
// scaled_dot_product_attention a selected module computes, a record op; in every
// fused fast path of the tree, a branch that runs the unfused path while capturing.
// The ops (script_ops.h) find their Recorder through the slot id each hooked instance
// carries as an int attribute, so install() and uninstall() only flip the Recorder's
// active flag.
#include "capture/torchscript/script_capture.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/script.h>

#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "attnhook/torchscript.h"
#include "capture/selection.h"
#include "capture/torchscript/ir_rewrite.h"
#include "capture/torchscript/script_ops.h"
#include "check.h"

namespace attnhook {

torch::jit::Module load_torchscript(const std::string& path) {
  // LibTorch 1.13 reports a missing file as "errno 2 on fopen: ," without the reason.
  std::error_code error_code;
  ATTNHOOK_CHECK(std::filesystem::exists(path, error_code), "load_torchscript: cannot load '{}': no such file",
                 path);
  try {
    return torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& error) {
    ATTNHOOK_FAIL("load_torchscript: cannot load '{}': {}", path, error.what_without_backtrace());
  } catch (const std::exception& error) {
    ATTNHOOK_FAIL("load_torchscript: cannot load '{}': {}", path, error.what());
  }
}

namespace detail {
namespace {

constexpr char kMultiheadAttention[] = "__torch__.torch.nn.modules.activation.MultiheadAttention";
constexpr char kBuiltinPrefix[] = "__torch__.torch.nn.";
// Int attributes that hand-written attention modules use for their head count.
constexpr const char* kHeadAttributes[] = {"num_heads",           "n_head", "n_heads",
                                           "num_attention_heads", "nhead",  "heads"};

// "__torch__.a.___torch_mangle_3.B" -> "__torch__.a.B"
std::string class_name(const torch::jit::Module& module) {
  std::string name;
  for (const std::string& atom : module.type()->name()->atoms()) {
    if (atom.rfind("___torch_mangle_", 0) == 0) continue;
    name += (name.empty() ? "" : ".") + atom;
  }
  return name;
}

struct Instance {
  std::string name;  // dotted named_modules() path, "" for the root
  torch::jit::Module module;
  std::string class_name;
};

// named_modules() with Python's names: a module reachable twice keeps its first name.
std::vector<Instance> instances_of(const torch::jit::Module& root) {
  std::vector<Instance> instances;
  std::unordered_set<const c10::ivalue::Object*> seen;
  for (const auto& item : root.named_modules()) {
    if (seen.insert(item.value._ivalue().get()).second)
      instances.push_back({item.name, item.value, class_name(item.value)});
  }
  return instances;
}

int64_t head_count(const torch::jit::Module& module) {
  for (const char* attribute : kHeadAttributes) {
    if (module.hasattr(attribute) && module.attr(attribute).isInt()) return module.attr(attribute).toInt();
  }
  return heads_from_graph(module.type());
}

bool holds_value(const torch::jit::Module& module, const std::vector<std::string>& names) {
  if (names.empty()) return false;
  for (const auto& value : named_tensor_values(module.type())) {
    for (const auto& name : names) {
      if (is_local_named(value, name)) return true;
    }
  }
  return false;
}

// The attention modules (selection.h): nn.MultiheadAttention, and modules of the user's
// own classes that compute a softmax or SDPA in their methods — or hold a local that
// capture_values asks for (sigmoid attention has no softmax) — and contain no other one.
std::vector<ModuleCandidate> candidates_of(const std::vector<Instance>& instances,
                                           const std::vector<std::string>& capture_values) {
  std::vector<bool> computes(instances.size());
  for (size_t i = 0; i < instances.size(); ++i) {
    const bool builtin = instances[i].class_name.rfind(kBuiltinPrefix, 0) == 0;
    computes[i] = instances[i].class_name == kMultiheadAttention ||
                  (!builtin && (count_attention_ops(instances[i].module.type()) > 0 ||
                                holds_value(instances[i].module, capture_values)));
  }
  std::vector<ModuleCandidate> candidates;
  for (size_t i = 0; i < instances.size(); ++i) {
    bool attention = computes[i];
    for (size_t j = 0; j < instances.size() && attention; ++j) {
      if (computes[j] && is_inside(instances[i].name, instances[j].name)) attention = false;
    }
    candidates.push_back({instances[i].name, short_type_name(instances[i].class_name), attention});
  }
  return candidates;
}

// Why the attention of a selected module cannot be captured; "" when it can. A trace
// made under torch.no_grad() bakes in the fused kernels, which never run the module's
// softmax; the module is then never called, or calls only the fused kernel.
std::string why_not_capturable(const std::vector<Instance>& instances, size_t index) {
  const Instance& instance = instances[index];
  const auto& type = instance.module.type();
  if (has_methods(type) && count_attention_ops(type) > 0) return "";
  if (instance.class_name != kMultiheadAttention) return "";  // selected for capture_values
  std::string fused_where;
  for (const auto& other : instances) {
    const bool around = other.name == instance.name || is_inside(other.name, instance.name);
    const auto fused = unconditional_fused_ops(other.module.type());
    if (around && !fused.empty()) {
      fused_where = fmt::format(" runs the fused {} instead", fmt::join(fused, ", "));
      fused_where = (other.name.empty() ? "(root)" : "'" + other.name + "'") + fused_where;
    }
  }
  const std::string what = fmt::format("'{}' ({})", instance.name, short_type_name(instance.class_name));
  if (!has_methods(type)) {
    return fmt::format("{} is never called{}", what, fused_where.empty() ? "" : ": " + fused_where);
  }
  return fmt::format("{} computes no softmax{}", what, fused_where.empty() ? "" : ": " + fused_where);
}

// capture_values: every name must be found in at least one selected module.
void check_values_found(const std::vector<Instance>& instances, const std::vector<size_t>& selected,
                        const std::unordered_map<const c10::ClassType*, std::vector<size_t>>& found,
                        const std::vector<std::string>& names) {
  for (size_t n = 0; n < names.size(); ++n) {
    const bool anywhere = std::any_of(selected.begin(), selected.end(), [&](size_t index) {
      return found.at(instances[index].module.type().get())[n] > 0;
    });
    if (anywhere) continue;
    std::string modules;
    for (size_t index : selected) {
      auto named = named_tensor_values(instances[index].module.type());
      if (named.size() > 24) {
        named.resize(24);
        named.push_back("...");
      }
      modules += fmt::format("{}'{}' has {}", modules.empty() ? "" : "; ", instances[index].name,
                             named.empty() ? "none" : fmt::format("{}", fmt::join(named, ", ")));
    }
    ATTNHOOK_FAIL(
        "capture_values: no selected module has a tensor value named '{}'. Named tensor values: {}. A traced "
        "model keeps few local names: script the module (torch.jit.script) to capture its locals",
        names[n], modules);
  }
}

class TorchScriptCapture final : public CaptureMechanism {
 public:
  TorchScriptCapture(torch::jit::Module hooked, std::shared_ptr<Recorder> recorder)
      : hooked_(std::move(hooked)), recorder_(std::move(recorder)) {}
  ~TorchScriptCapture() override {
    uninstall();
    for (int64_t slot : slots_) unregister_slot(slot);
  }
  // Each slot is registered once; a copy would unregister it twice.
  TorchScriptCapture(const TorchScriptCapture&) = delete;
  TorchScriptCapture& operator=(const TorchScriptCapture&) = delete;

  void install() override { recorder_->set_active(true); }
  void uninstall() noexcept override { recorder_->set_active(false); }
  const std::shared_ptr<Recorder>& recorder() const override { return recorder_; }
  torch::jit::Module* hooked_module() override { return &hooked_; }

  int64_t add_slot(SlotTarget target) {
    slots_.reserve(slots_.size() + 1);  // no throw between registering and keeping
    slots_.push_back(register_slot(std::move(target)));
    return slots_.back();
  }

 private:
  torch::jit::Module hooked_;
  std::shared_ptr<Recorder> recorder_;
  std::vector<int64_t> slots_;
};

}  // namespace

std::unique_ptr<CaptureMechanism> make_torchscript_capture(const torch::jit::Module& model,
                                                           const HookerOptions& options) {
  for (const auto& instance : instances_of(model)) {
    ATTNHOOK_CHECK(!instance.module.type()->hasAttribute(kSlotAttribute),
                   "AttentionHooker: module '{}' is already hooked (an AttentionHooker::module()); hook the "
                   "original model",
                   instance.name);
  }
  // A parent's executor inlines its children's graphs on its first run, so edits made
  // after a run would not be seen; a fresh clone has no executors yet.
  torch::jit::Module hooked = model.clone(/*inplace=*/true);
  const std::vector<Instance> instances = instances_of(hooked);
  const std::vector<size_t> selected = select_attention(candidates_of(instances, options.capture_values()), options.layer_regex());

  std::vector<std::string> uncapturable;
  for (size_t index : selected) {
    if (std::string why = why_not_capturable(instances, index); !why.empty()) uncapturable.push_back(why);
  }
  ATTNHOOK_CHECK(uncapturable.empty(),
                 "cannot capture the attention of {}. A model traced under torch.no_grad() runs fused "
                 "kernels that never compute the attention weights: trace it in eval mode with grad "
                 "enabled (torch.jit.trace under torch.enable_grad()), or select other modules",
                 fmt::join(uncapturable, "; "));

  // Instrument each selected class once (instances share its methods).
  std::unordered_map<const c10::ClassType*, std::vector<size_t>> values_found;  // per class: ordinals per name
  for (size_t index : selected) {
    const auto& type = instances[index].module.type();
    if (values_found.count(type.get())) continue;
    add_slot_attribute(type);
    instrument_attention(type, options.capture_scores());
    values_found[type.get()] = instrument_values(type, options.capture_values());
  }
  check_values_found(instances, selected, values_found, options.capture_values());

  // The Recorder's entries: each module, then its scores and values (HookerOptions).
  std::vector<std::string> names;
  std::vector<SlotTarget> targets(selected.size());
  for (size_t s = 0; s < selected.size(); ++s) {
    const Instance& instance = instances[selected[s]];
    SlotTarget& target = targets[s];
    target.module_index = static_cast<int64_t>(names.size());
    target.num_heads = head_count(instance.module);
    names.push_back(instance.name);
    if (options.capture_scores()) {
      target.scores_index = static_cast<int64_t>(names.size());
      names.push_back(instance.name + "/scores");
    }
    const auto& found = values_found.at(instance.module.type().get());
    target.value_entries.resize(found.size());
    for (size_t n = 0; n < found.size(); ++n) {
      for (size_t ordinal = 0; ordinal < found[n]; ++ordinal) {
        target.value_entries[n].push_back(static_cast<int64_t>(names.size()));
        const std::string& value = options.capture_values()[n];
        names.push_back(instance.name + "/" + value + (ordinal ? "#" + std::to_string(ordinal) : ""));
      }
    }
  }
  auto capture = std::make_unique<TorchScriptCapture>(hooked, std::make_shared<Recorder>(names, options));
  // While capturing, the whole tree runs its unfused path: a fused layer beside a
  // selected one would otherwise mix the two paths' rounding in the output.
  std::unordered_set<const c10::ClassType*> guarded;
  for (const auto& instance : instances) {
    const auto& type = instance.module.type();
    if (guarded.count(type.get()) || fused_ops(type).empty()) continue;
    guarded.insert(type.get());
    add_slot_attribute(type);
    guard_fused_paths(type);
  }

  // Every instance of an edited class needs the attribute: those that record get their
  // module's slot, those that only guard fused paths a slot that records nothing.
  for (size_t i = 0; i < instances.size(); ++i) {
    auto module = instances[i].module;
    if (!module.type()->hasAttribute(kSlotAttribute)) continue;
    const auto position = std::find(selected.begin(), selected.end(), i);
    SlotTarget target = position != selected.end() ? targets[position - selected.begin()] : SlotTarget();
    target.recorder = capture->recorder();
    module._ivalue()->setAttr(kSlotAttribute, capture->add_slot(std::move(target)));
  }
  return capture;
}

}  // namespace detail
}  // namespace attnhook
