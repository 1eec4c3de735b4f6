// attnhook::AttentionHooker — forward hooks for attention in LibTorch.
//
//   auto model = torch::nn::TransformerEncoder(...);
//   attnhook::AttentionHooker hooker(model, attnhook::HookerOptions().layer_regex("self_attn$"));
//   hooker.setup();                    // install hooks
//   model->forward(x);                 // unchanged model code, any grad mode, any thread
//   hooker.values().at("layers.0.self_attn")[0];   // [batch, heads, tgt_len, src_len]
//   hooker.remove_hooks();             // idempotent; the destructor does it too
//
// What is selected: attention modules only (options.h; README "What is selected"): a
// MultiheadAttention, or a module of the user's own type that computes a softmax or
// scaled_dot_product_attention in its forward and contains no other attention module.
//
// What is recorded: for every call of a selected module, the per-head attention weights
// before dropout, whatever need_weights / average_attn_weights the caller passed: the
// softmax output, or for scaled_dot_product_attention the weights recomputed from its
// inputs (SDPA's kernel still computes the model's output). A 4-D softmax [batch, heads,
// tgt, src] is kept as is; [batch * heads, tgt, src] is viewed with the module's head
// count (or [n, 1, tgt, src] when that is unknown); 5-D and more (window attention) has
// its leading dimensions folded into batch.
//
// How (torch::nn models): an ATen op observer (at::RecordFunction) attributes ops to
// modules by the identity of their parameters, so a selected module must own at least
// one parameter; parameters replaced after setup() are not seen (in-place updates,
// load_state_dict and module->to(dtype/device) are). Whether a module of the user's own
// type computes attention shows only when it runs: before a forward, hooked_names()
// lists every candidate (a user type that owns parameters and contains no
// MultiheadAttention and no other such module); a candidate that ran without computing
// attention drops out. TorchScript models: see attnhook/torchscript.h. Hooks never change
// what the model computes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/csrc/jit/api/module.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "attnhook/options.h"
#include "attnhook/values.h"

namespace attnhook {

namespace detail {
class CaptureMechanism;
}  // namespace detail

class AttentionHooker {
 public:
  // Hooks a torch::nn module tree. A null model is an attnhook::Error.
  explicit AttentionHooker(std::shared_ptr<torch::nn::Module> model,
                           HookerOptions options = HookerOptions());
  template <typename Impl>
  explicit AttentionHooker(const torch::nn::ModuleHolder<Impl>& model,
                           HookerOptions options = HookerOptions())
      : AttentionHooker(std::static_pointer_cast<torch::nn::Module>(model.ptr()),
                        std::move(options)) {}

  // Hooks a TorchScript module (torch.jit.script or torch.jit.trace, loaded with
  // torch::jit::load or attnhook::load_torchscript). The original is left untouched:
  // run module(), a hooked clone that shares the original's parameters.
  explicit AttentionHooker(const torch::jit::Module& model, HookerOptions options = HookerOptions());

  ~AttentionHooker() noexcept;
  AttentionHooker(AttentionHooker&& other) noexcept;
  AttentionHooker& operator=(AttentionHooker&& other) noexcept;
  // A copy would share one set of hooks with two owners.
  AttentionHooker(const AttentionHooker&) = delete;
  AttentionHooker& operator=(const AttentionHooker&) = delete;

  // Installs the hooks (again, after remove_hooks()). Calling it while installed
  // does nothing. Throws attnhook::Error on a moved-from hooker.
  AttentionHooker& setup();
  // Stops recording and keeps what was recorded. Idempotent.
  void remove_hooks() noexcept;
  // Empties values().
  void clear();
  // True between setup() and remove_hooks().
  bool active() const;

  // What was recorded so far, in model order: a snapshot (tensors are shared handles,
  // so the copy is cheap) that later forwards, clear() and the hooker's destruction
  // leave as it is. Thread-safe.
  Values values() const;
  // The selected modules that can record, in model order (torch::nn: see above).
  std::vector<std::string> hooked_names() const;

  // TorchScript hookers: the module to run. With hooks removed it computes exactly
  // what the original does. An attnhook::Error for torch::nn hookers (run the model).
  torch::jit::Module& module();

 private:
  std::unique_ptr<detail::CaptureMechanism> mechanism_;
};

}  // namespace attnhook
