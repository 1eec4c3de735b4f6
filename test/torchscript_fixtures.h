// Test support: the TorchScript fixture cases of test/fixtures (models, inputs,
// Python's outputs and per-head weights; see test/fixtures/README.md) and how to run them.
#pragma once

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "attnhook/attnhook.h"

namespace attnhook_test {

// The tests of these cases (torchscript*_test.cpp) live in this namespace.
using attnhook::AttentionHooker;
using attnhook::HookerOptions;

inline const std::string kFixtures = ATTNHOOK_FIXTURES_DIR;

// One fixture case: the model, its inputs and Python's outputs and per-head weights.
struct Case {
  std::string name;
  torch::jit::Module model;
  torch::jit::Module ref;
  std::vector<c10::IValue> inputs;
  std::vector<std::string> attn_names;
  std::vector<int64_t> attn_calls;
  bool custom = false;  // hand-written attention: selected by name, not by ""

  at::Tensor tensor(const std::string& key) const { return ref.attr(key).toTensor(); }
  // ref__<name with '.' -> '_'>__<call>: [batch, heads, tgt_len, src_len]
  at::Tensor reference(const std::string& module, size_t call) const {
    std::string mangled = module;
    std::replace(mangled.begin(), mangled.end(), '.', '_');
    return tensor("ref__" + mangled + "__" + std::to_string(call));
  }
  // "" for nn.MultiheadAttention cases; "^(a|b)$" naming the hand-written modules.
  std::string regex() const {
    if (!custom) return "";
    std::string pattern;
    for (const auto& name : attn_names) {
      std::string escaped;
      for (char c : name) escaped += c == '.' ? std::string("\\.") : std::string(1, c);
      pattern += (pattern.empty() ? "" : "|") + escaped;
    }
    return "^(" + pattern + ")$";
  }
};

inline Case load_case(const std::string& name) {
  Case c;
  c.name = name;
  c.model = attnhook::load_torchscript(kFixtures + "/" + name + ".pt");
  c.model.eval();
  c.ref = torch::jit::load(kFixtures + "/" + name + "_ref.pt");
  for (int64_t i = 0; i < c.ref.attr("num_inputs").toInt(); ++i) {
    const std::string key = "input_" + std::to_string(i);
    c.inputs.push_back(c.ref.hasattr(key) ? c10::IValue(c.ref.attr(key).toTensor())
                                          : c10::IValue());
  }
  for (const c10::IValue n : c.ref.attr("attn_names").toList())
    c.attn_names.push_back(n.toStringRef());
  for (int64_t calls : c.ref.attr("attn_calls").toIntList()) c.attn_calls.push_back(calls);
  for (const c10::IValue kind : c.ref.attr("attn_kinds").toList())
    c.custom = c.custom || kind.toStringRef() == "custom";
  return c;
}

enum class Grad { kEnabled, kNoGrad, kInference };

inline at::Tensor run(torch::jit::Module& module, const std::vector<c10::IValue>& inputs,
                      Grad grad) {
  std::vector<c10::IValue> args = inputs;
  switch (grad) {
    case Grad::kEnabled: {
      torch::AutoGradMode enabled(true);
      return module.forward(args).toTensor().detach();
    }
    case Grad::kNoGrad: {
      torch::NoGradGuard no_grad;
      return module.forward(args).toTensor();
    }
    case Grad::kInference: {
      c10::InferenceMode inference;
      return module.forward(args).toTensor().clone();
    }
  }
  return {};
}

inline double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// Every module and call of the case, allclose (atol 1e-6) to Python's weights.
inline void expect_matches_reference(const Case& c, const attnhook::Values& values,
                                     size_t forwards = 1) {
  ASSERT_EQ(values.size(), c.attn_names.size());
  size_t position = 0;
  for (const auto& [name, calls] : values) {
    ASSERT_EQ(name, c.attn_names[position]) << "model order";
    const auto expected_calls = static_cast<size_t>(c.attn_calls[position]);
    ASSERT_EQ(calls.size(), expected_calls * forwards) << name;
    for (size_t call = 0; call < calls.size(); ++call) {
      const auto reference = c.reference(name, call % expected_calls);
      ASSERT_EQ(calls[call].sizes(), reference.sizes()) << name << " call " << call;
      EXPECT_TRUE(torch::allclose(calls[call], reference, /*rtol=*/0, /*atol=*/1e-6))
          << name << " call " << call << ": max diff " << max_diff(calls[call], reference);
      EXPECT_FALSE(calls[call].requires_grad());
    }
    ++position;
  }
}

inline const std::vector<std::string> kCases = {
    "encoder_seqfirst", "encoder_normfirst", "encoder_nested", "decoder",     "transformer",
    "bert_custom",      "gpt_custom",        "traced_mha",     "traced_bert", "shared_mha"};

inline std::string grad_name(Grad grad) {
  return grad == Grad::kEnabled ? "Grad" : grad == Grad::kNoGrad ? "NoGrad" : "Inference";
}

}  // namespace attnhook_test
