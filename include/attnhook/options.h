// HookerOptions — what an AttentionHooker captures and how it stores it.
//
//   attnhook::HookerOptions()
//       .layer_regex(R"(self_attn$)")   // default "": every attention module
//       .to_cpu(true)                   // default false: keep the model's device
//       .dtype(torch::kFloat)           // default none: keep the model's dtype
//       .keep_grad(false)               // default false: stored tensors are detached
//       .capture_scores(true)           // default false: also the softmax's input
//       .capture_values({"attn_map"});  // default {}: also these named locals (TorchScript)
//
// layer_regex uses RE2 search semantics (RE2::PartialMatch, like Python's re.search)
// over the dotted names of named_modules() (no root prefix). It selects attention
// modules only: a multi-head attention module, or a module of the user's own type that
// computes a softmax or scaled_dot_product_attention in its forward and contains no
// other attention module. "" selects every attention module; a pattern those whose name
// it matches. Each attention call is recorded once, under that module. (README, "What
// is selected", has the table of examples.)
//
// capture_scores(true) records, beside each call's weights, the softmax's input — the
// logits after scaling and masking — as "<module>/scores", [batch, heads, tgt, src]
// (for scaled_dot_product_attention, q·kᵀ·scale + mask, recomputed). Both mechanisms.
//
// capture_values({"name", ...}) records, for each selected module, every tensor value
// whose Python local name is in the list: the debug names TorchScript keeps in the
// graph (`%attn_map`, `%attn_map.1`; a reassigned local is `%attn_map0`, `%attn_map1`,
// ...), computed in the module's forward or in a function it calls. Each is stored as
// is (any rank, no reshaping) under "<module>/<name>", one tensor per call in call
// order; a second assignment of the same name in the code is "<module>/<name>#1", and
// so on, in graph order. The value is copied when recorded, so an in-place op on it
// later in the model does not change the record, and what the model computes does not
// change. TorchScript models only: C++ locals have no names, so on a torch::nn model a
// non-empty list is an attnhook::Error (compute the tensor as a module's output, or
// export the model with torch.jit.script). A name found in no selected module is an
// attnhook::Error that names the modules and lists the named tensor values they have.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <c10/core/ScalarType.h>

namespace attnhook {

struct HookerOptions {
  HookerOptions& layer_regex(std::string pattern) {
    layer_regex_ = std::move(pattern);
    return *this;
  }
  HookerOptions& to_cpu(bool value) {
    to_cpu_ = value;
    return *this;
  }
  HookerOptions& dtype(std::optional<c10::ScalarType> value) {
    dtype_ = value;
    return *this;
  }
  // true keeps each captured tensor attached to autograd, so gradients of
  // attention weights can be taken (torch::autograd::grad(loss, {weights})).
  HookerOptions& keep_grad(bool value) {
    keep_grad_ = value;
    return *this;
  }
  HookerOptions& capture_scores(bool value) {
    capture_scores_ = value;
    return *this;
  }
  HookerOptions& capture_values(std::vector<std::string> names) {
    capture_values_ = std::move(names);
    return *this;
  }

  const std::string& layer_regex() const { return layer_regex_; }
  bool to_cpu() const { return to_cpu_; }
  std::optional<c10::ScalarType> dtype() const { return dtype_; }
  bool keep_grad() const { return keep_grad_; }
  bool capture_scores() const { return capture_scores_; }
  const std::vector<std::string>& capture_values() const { return capture_values_; }

 private:
  std::string layer_regex_;
  bool to_cpu_ = false;
  std::optional<c10::ScalarType> dtype_;
  bool keep_grad_ = false;
  bool capture_scores_ = false;
  std::vector<std::string> capture_values_;
};

}  // namespace attnhook
