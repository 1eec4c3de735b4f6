// attnhook::AttentionHooker — forward hooks for attention in LibTorch.
//
//   auto model = torch::nn::TransformerEncoder(...);
//   attnhook::AttentionHooker hooker(model, attnhook::HookerOptions().layer_regex("self_attn$"));
//   hooker.setup();                    // install hooks
//   model->forward(x);                 // unchanged model code, any grad mode, any thread
//   hooker.values().at("layers.0.self_attn")[0];   // [batch, heads, tgt_len, src_len]
//   hooker.remove_hooks();             // idempotent; the destructor does it too
//
// What is recorded: for every call of a selected module, the per-head attention
// weights before dropout (the softmax output), whatever need_weights /
// average_attn_weights the caller passed. A selected module that is not a
// MultiheadAttention records every softmax it computes, one tensor each; a 4-D
// softmax output [batch, heads, tgt, src] is kept as is, a 3-D one
// [batch, tgt, src] becomes [batch, 1, tgt, src].
//
// How (torch::nn models): an ATen op observer (at::RecordFunction) attributes ops to
// modules by the identity of their parameters, so a selected module must own at least
// one parameter; parameters replaced after setup() are not seen (in-place updates,
// load_state_dict and module->to(dtype/device) are). Hooks never change what the model
// computes.
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
  // The selected modules, in model order.
  std::vector<std::string> hooked_names() const;

  // TorchScript hookers: the module to run. With hooks removed it computes exactly
  // what the original does. An attnhook::Error for torch::nn hookers (run the model).
  torch::jit::Module& module();

 private:
  std::unique_ptr<detail::CaptureMechanism> mechanism_;
};

}  // namespace attnhook
