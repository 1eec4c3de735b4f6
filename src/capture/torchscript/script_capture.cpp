// Capture for TorchScript modules. The hooker clones the model (sharing its tensors)
// and edits the clone's graphs (ir_rewrite.h): after every softmax a selected module
// computes, an attnhook::record op; around every fused kernel that would skip that
// softmax, a condition on attnhook::capturing. Both ops (torchscript_ops.h) find their
// Recorder through the slot id each hooked instance carries as an int attribute, so
// install() and uninstall() only flip the Recorder's active flag.
#include "capture/torchscript/script_capture.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/script.h>

#include <filesystem>
#include <unordered_set>

#include "attnhook/error.h"
#include "attnhook/torchscript.h"
#include "capture/torchscript/ir_rewrite.h"
#include "capture/selection.h"
#include "capture/torchscript/script_ops.h"

namespace attnhook {

torch::jit::Module load_torchscript(const std::string& path) {
  // LibTorch 1.13 reports a missing file as "errno 2 on fopen: ," without the reason.
  std::error_code error_code;
  if (!std::filesystem::exists(path, error_code)) {
    throw Error(fmt::format("load_torchscript: cannot load '{}': no such file", path));
  }
  try {
    return torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& error) {
    throw Error(fmt::format("load_torchscript: cannot load '{}': {}", path,
                            error.what_without_backtrace()));
  } catch (const std::exception& error) {
    throw Error(fmt::format("load_torchscript: cannot load '{}': {}", path, error.what()));
  }
}

namespace detail {
namespace {

constexpr char kMultiheadAttention[] = "__torch__.torch.nn.modules.activation.MultiheadAttention";
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

bool is_inside(const std::string& module_name, const std::string& name) {
  if (module_name.empty()) return !name.empty();  // the root holds everything
  return name.size() > module_name.size() &&
         name.compare(0, module_name.size(), module_name) == 0 && name[module_name.size()] == '.';
}

struct Instance {
  std::string name;  // dotted named_modules() path, "" for the root
  torch::jit::Module module;
};

// named_modules() with Python's names: a module reachable twice keeps its first name.
std::vector<Instance> instances_of(const torch::jit::Module& root) {
  std::vector<Instance> instances;
  std::unordered_set<const c10::ivalue::Object*> seen;
  for (const auto& item : root.named_modules()) {
    if (seen.insert(item.value._ivalue().get()).second)
      instances.push_back({item.name, item.value});
  }
  return instances;
}

int64_t head_count(const torch::jit::Module& module) {
  for (const char* attribute : kHeadAttributes) {
    if (module.hasattr(attribute) && module.attr(attribute).isInt())
      return module.attr(attribute).toInt();
  }
  return heads_from_graph(module.type());
}

// Why a selected module holds no attention attnhook can capture; "" if it holds some.
std::string why_no_attention(const Instance& instance) {
  const auto& type = instance.module.type();
  const std::string which = fmt::format("'{}' ({})", instance.name, class_name(instance.module));
  if (methods_run_by_forward(type).empty()) return which + " has no forward method";
  if (count_softmax(type) > 0) return "";
  const auto fused = fused_ops(type);
  if (!fused.empty()) {
    return fmt::format("{} computes no softmax in its forward, only the fused {}", which,
                       fmt::join(fused, ", "));
  }
  return which +
         " computes no softmax in its forward (attention in submodules is captured by selecting "
         "them)";
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
    if (instance.module.type()->hasAttribute(kSlotAttribute)) {
      throw Error(fmt::format(
          "AttentionHooker: module '{}' is already hooked (an AttentionHooker::module()); "
          "hook the original model",
          instance.name));
    }
  }
  // A parent's executor inlines its children's graphs on its first run, so edits made
  // after a run would not be seen; a fresh clone has no executors yet.
  torch::jit::Module hooked = model.clone(/*inplace=*/true);
  const std::vector<Instance> instances = instances_of(hooked);

  std::vector<ModuleCandidate> candidates;
  for (const auto& instance : instances) {
    candidates.push_back({instance.name, class_name(instance.module) == kMultiheadAttention});
  }
  std::vector<size_t> kept;  // indexes into instances, model order
  std::vector<std::string> reasons;
  for (size_t index : select_modules(candidates, options.layer_regex())) {
    const std::string reason = why_no_attention(instances[index]);
    if (reason.empty()) {
      kept.push_back(index);
    } else {
      reasons.push_back(reason);
    }
  }
  if (kept.empty()) {
    throw Error(fmt::format("layer_regex '{}' selects no module that computes attention: {}",
                            options.layer_regex(), fmt::join(reasons, "; ")));
  }

  std::vector<std::string> names;
  for (size_t index : kept) names.push_back(instances[index].name);
  auto capture =
      std::make_unique<TorchScriptCapture>(hooked, std::make_shared<Recorder>(names, options));

  std::unordered_set<const c10::ClassType*> instrumented;
  for (size_t index : kept) {
    const auto& type = instances[index].module.type();
    if (!instrumented.insert(type.get()).second) continue;
    add_slot_attribute(type);
    instrument_softmax(type);
  }
  // A fused kernel is guarded off in every instance that is or contains a selected module.
  std::vector<bool> covers(instances.size(), false);
  std::unordered_set<const c10::ClassType*> guarded;
  for (size_t i = 0; i < instances.size(); ++i) {
    for (size_t index : kept) {
      covers[i] = covers[i] || i == index || is_inside(instances[i].name, instances[index].name);
    }
    const auto& type = instances[i].module.type();
    if (!covers[i] || guarded.count(type.get()) || fused_ops(type).empty()) continue;
    guarded.insert(type.get());
    add_slot_attribute(type);
    guard_fused_paths(type, instances[i].name);
  }

  // Every instance of an edited class needs the attribute; those that neither record
  // nor guard get -1.
  for (size_t i = 0; i < instances.size(); ++i) {
    auto module = instances[i].module;
    if (!module.type()->hasAttribute(kSlotAttribute)) continue;
    const auto position = std::find(kept.begin(), kept.end(), i);
    const bool records = position != kept.end();
    int64_t slot = -1;
    if (records || (covers[i] && guarded.count(module.type().get()))) {
      SlotTarget target{capture->recorder(), records ? position - kept.begin() : -1,
                        records ? head_count(module) : 0};
      slot = capture->add_slot(std::move(target));
    }
    module._ivalue()->setAttr(kSlotAttribute, slot);
  }
  return capture;
}

}  // namespace detail
}  // namespace attnhook
