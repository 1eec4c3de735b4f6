// HookerOptions — what an AttentionHooker captures and how it stores it.
//
//   attnhook::HookerOptions()
//       .layer_regex(R"(self_attn$)")   // default "": every multi-head attention module
//       .to_cpu(true)                   // default false: keep the model's device
//       .dtype(torch::kFloat)           // default none: keep the model's dtype
//       .keep_grad(false);              // default false: stored tensors are detached
//
// layer_regex uses RE2 search semantics (RE2::PartialMatch, like Python's re.search)
// over the dotted names of named_modules() (no root prefix). "" selects every
// torch::nn::MultiheadAttention (or scripted nn.MultiheadAttention); a non-empty
// pattern selects every module whose name matches — attention modules and
// hand-written attention alike.
#pragma once

#include <optional>
#include <string>

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

  const std::string& layer_regex() const { return layer_regex_; }
  bool to_cpu() const { return to_cpu_; }
  std::optional<c10::ScalarType> dtype() const { return dtype_; }
  bool keep_grad() const { return keep_grad_; }

 private:
  std::string layer_regex_;
  bool to_cpu_ = false;
  std::optional<c10::ScalarType> dtype_;
  bool keep_grad_ = false;
};

}  // namespace attnhook
