// Capture for torch::nn models. LibTorch's MultiheadAttentionImpl::forward is not
// virtual and modules have no hooks, but its multi_head_attention_forward always
// computes the per-head softmax [batch * heads, tgt, src]. An at::RecordFunction
// observer (observer_registry.cpp) attributes ops to modules by their parameters:
// reading a selected module's parameter opens that module on the thread; the
// aten::softmax output, or the weights of the scaled_dot_product_attention call, that
// follow are its attention.
#include "capture/torchnn/op_observer.h"

#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "check.h"
#include "capture/torchnn/observer_registry.h"
#include "capture/selection.h"

namespace attnhook::detail {
namespace {

struct SelectedModule {
  std::string name;
  const torch::nn::MultiheadAttentionImpl* mha;  // nullptr: hand-written attention
  size_t record_index = 0;                       // the Recorder's entries
  int64_t scores_index = -1;
};

class OpObserver final : public CaptureMechanism {
 public:
  OpObserver(std::shared_ptr<torch::nn::Module> model, std::vector<SelectedModule> selected,
             const HookerOptions& options)
      : model_(std::move(model)), selected_(std::move(selected)) {
    std::vector<std::string> names;
    std::vector<bool> confirmed;  // a MultiheadAttention always computes its softmax
    for (auto& module : selected_) {
      module.record_index = names.size();
      names.push_back(module.name);
      confirmed.push_back(module.mha != nullptr);
      if (!options.capture_scores()) continue;
      module.scores_index = static_cast<int64_t>(names.size());
      names.push_back(module.name + "/scores");
      confirmed.push_back(true);
    }
    recorder_ = std::make_shared<Recorder>(std::move(names), options, std::move(confirmed));
  }
  ~OpObserver() override { uninstall(); }

  void install() override;
  // install() without the check of LibTorch's op sequence (which itself uses it).
  void start();
  void uninstall() noexcept override {
    recorder_->set_active(false);
    if (plan_) unregister_plan(plan_.get());
    plan_.reset();
  }
  const std::shared_ptr<Recorder>& recorder() const override { return recorder_; }

 private:
  std::shared_ptr<const ObserverPlan> make_plan() const;

  std::shared_ptr<torch::nn::Module> model_;
  std::vector<SelectedModule> selected_;
  std::shared_ptr<Recorder> recorder_;
  std::shared_ptr<const ObserverPlan> plan_;
};

// Parameters are read at install time, so in-place updates and module->to() (which
// keep each parameter's TensorImpl) stay observed.
std::shared_ptr<const ObserverPlan> OpObserver::make_plan() const {
  auto plan = std::make_shared<ObserverPlan>();
  plan->recorder = recorder_;
  for (size_t i = 0; i < selected_.size(); ++i) {
    ObservedModule module;
    module.record_index = selected_[i].record_index;
    module.scores_index = selected_[i].scores_index;
    module.num_heads = selected_[i].mha ? selected_[i].mha->options.num_heads() : 0;
    plan->modules.push_back(module);
  }
  for (const auto& item : model_->named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    const at::Tensor& parameter = item.value();
    if (!parameter.defined()) continue;
    int owner = ObserverPlan::kCloses;
    for (size_t i = 0; i < selected_.size(); ++i) {
      if (is_inside(selected_[i].name, name)) owner = static_cast<int>(i);  // attention modules never nest
    }
    if (owner >= 0 && selected_[owner].mha) {
      // A MultiheadAttention call starts with its input projection; its other
      // parameters (biases, bias_k/v, out_proj) neither open nor close anything.
      const std::string& owner_name = selected_[owner].name;
      const std::string local = owner_name.empty() ? name : name.substr(owner_name.size() + 1);
      if (local != "in_proj_weight" && local != "q_proj_weight") continue;
    }
    const auto [entry, inserted] = plan->parameters.try_emplace(parameter.unsafeGetTensorImpl(), owner);
    if (!inserted) entry->second = std::max(entry->second, owner);  // tied weights: opening beats closing
  }
  return plan;
}

// The capture relies on the op sequence inside LibTorch's multi_head_attention_forward.
// Check it once per process on a tiny module (self- and cross-attention) against the
// per-head weights LibTorch itself returns.
std::string check_capture_on_this_libtorch() {
  // Building the check module draws from the default generator; give its state back
  // so that hooking never changes what a seeded model computes.
  auto generator = at::detail::getDefaultCPUGenerator();
  at::Tensor rng_state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    rng_state = generator.get_state();
  }
  torch::NoGradGuard no_grad;
  torch::nn::MultiheadAttention mha(torch::nn::MultiheadAttentionOptions(8, 2));
  mha->eval();
  auto local = at::make_generator<at::CPUGeneratorImpl>(20240601);
  const auto query = torch::randn({3, 2, 8}, local);   // [tgt, batch, embed]
  const auto memory = torch::randn({5, 2, 8}, local);  // [src, batch, embed]
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng_state);
  }

  OpObserver observer(mha.ptr(), {SelectedModule{"", mha.get()}}, HookerOptions());  // the root
  observer.start();
  const auto self_weights = std::get<1>(mha->forward(query, query, query, {}, true, {}, false));
  const auto cross_weights = std::get<1>(mha->forward(query, memory, memory, {}, true, {}, false));
  observer.uninstall();

  const Values values = observer.recorder()->values();
  const size_t calls = values.count("") ? values.at("").size() : 0;
  if (calls != 2) return fmt::format("2 attention calls made, {} captured", calls);
  const auto& captured = values.at("");
  if (!captured[0].equal(self_weights)) return "self-attention weights differ";
  if (!captured[1].equal(cross_weights)) return "cross-attention weights differ";
  return "";
}

void verify_capture_once() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] { failure = check_capture_on_this_libtorch(); });
  if (!failure.empty()) {
    ATTNHOOK_FAIL(
        "attnhook cannot capture attention on LibTorch {}: the op sequence of "
        "multi_head_attention_forward is not the one attnhook was built for ({})",
        TORCH_VERSION, failure);
  }
}

void OpObserver::install() {
  if (plan_) return;
  verify_capture_once();
  start();
}

void OpObserver::start() {
  if (plan_) return;
  plan_ = make_plan();
  recorder_->set_active(true);
  register_plan(plan_);
}

// A module of the user's own type, not one of torch::nn's layers and containers.
bool is_builtin(const torch::nn::Module& module) { return module.name().rfind("torch::nn::", 0) == 0; }

bool owns_parameters(const torch::nn::Module& module) { return !module.parameters(/*recurse=*/true).empty(); }

// The attention modules of a torch::nn tree (selection.h). A MultiheadAttention is one.
// Whether a module of the user's own type computes a softmax shows only when it runs,
// so the observer counts as attention every such module that owns parameters (it is
// attributed ops through them) and contains no MultiheadAttention and no other module of
// a user type that owns parameters; values() then lists only those that recorded.
std::vector<ModuleCandidate> candidates_of(
    const std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>& modules) {
  std::vector<ModuleCandidate> candidates;
  for (const auto& [name, module] : modules) {
    const bool is_mha = dynamic_cast<const torch::nn::MultiheadAttentionImpl*>(module.get()) != nullptr;
    bool hand_written = !is_mha && !is_builtin(*module) && owns_parameters(*module);
    for (const auto& [other_name, other] : modules) {
      if (!hand_written) break;
      if (!is_inside(name, other_name)) continue;
      const bool other_mha = dynamic_cast<const torch::nn::MultiheadAttentionImpl*>(other.get()) != nullptr;
      if (other_mha || (!is_builtin(*other) && owns_parameters(*other))) hand_written = false;
    }
    candidates.push_back({name, short_type_name(module->name()), is_mha || hand_written});
  }
  return candidates;
}

}  // namespace

std::unique_ptr<CaptureMechanism> make_op_observer(std::shared_ptr<torch::nn::Module> model,
                                                   const HookerOptions& options) {
  ATTNHOOK_CHECK(model, "AttentionHooker: the model is null");
  ATTNHOOK_CHECK(options.capture_values().empty(),
                 "capture_values({}) needs a TorchScript model: the locals of C++ code have no names. Return "
                 "the tensor from a module's forward, or export the model with torch.jit.script",
                 fmt::join(options.capture_values(), ", "));
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules;
  for (const auto& item : model->named_modules()) modules.emplace_back(item.key(), item.value());
  const std::vector<ModuleCandidate> candidates = candidates_of(modules);
  std::vector<SelectedModule> selected;
  for (size_t index : select_attention(candidates, options.layer_regex())) {
    selected.push_back({candidates[index].name,
                        dynamic_cast<const torch::nn::MultiheadAttentionImpl*>(modules[index].second.get())});
  }
  return std::make_unique<OpObserver>(std::move(model), std::move(selected), options);
}

}  // namespace attnhook::detail
