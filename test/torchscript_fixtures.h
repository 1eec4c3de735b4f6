// Test support: the TorchScript fixture cases of test/fixtures (models, inputs,
// Python's outputs and per-head weights; see test/fixtures/README.md) and how to run them.
#pragma once

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <torch/version.h>
#include <string>
#include <vector>

#include "attnhook/attnhook.h"

namespace attnhook_test {

// The tests of these cases (torchscript*_test.cpp) live in this namespace.
using attnhook::AttentionHooker;
using attnhook::HookerOptions;

inline const std::string kFixturesRoot = ATTNHOOK_FIXTURES_DIR;
// "2.13": the fixture set made by the torch of this LibTorch's release.
inline const std::string kTorchRelease =
    std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR);
// test/fixtures/torch<release>
inline std::string fixtures_dir(const std::string& release = kTorchRelease) {
  return kFixturesRoot + "/torch" + release;
}
// The sets this LibTorch runs: its own, and on 2.x also the files 1.13 made (old model
// files still load; they keep 1.13's code, with softmax where 2.13 calls SDPA).
inline std::vector<std::string> fixture_sets() {
  if (kTorchRelease == "1.13") return {"1.13"};
  return {kTorchRelease, "1.13"};
}

// One fixture case: the model, its inputs and Python's outputs and per-head weights.
struct Case {
  std::string set;   // "2.13": made by that torch
  std::string name;
  torch::jit::Module model;
  torch::jit::Module ref;
  std::vector<c10::IValue> inputs;
  std::vector<std::string> attn_names;
  std::vector<int64_t> attn_calls;
  double atol = 1e-6;  // weights: fp16/bf16 cases store their own (atol_weights)

  at::Tensor tensor(const std::string& key) const { return ref.attr(key).toTensor(); }
  bool has(const std::string& key) const { return ref.hasattr(key); }
  // ref__<name with '.' -> '_'>__<call>: [batch, heads, tgt_len, src_len]
  at::Tensor reference(const std::string& module, size_t call) const {
    std::string mangled = module;
    std::replace(mangled.begin(), mangled.end(), '.', '_');
    return tensor("ref__" + mangled + "__" + std::to_string(call));
  }
};

inline Case load_case(const std::string& name, const std::string& set = kTorchRelease) {
  Case c;
  c.set = set;
  c.name = name;
  c.model = attnhook::load_torchscript(fixtures_dir(set) + "/" + name + ".pt");
  c.model.eval();
  c.ref = torch::jit::load(fixtures_dir(set) + "/" + name + "_ref.pt");
  for (int64_t i = 0; i < c.ref.attr("num_inputs").toInt(); ++i) {
    const std::string key = "input_" + std::to_string(i);
    c.inputs.push_back(c.ref.hasattr(key) ? c10::IValue(c.ref.attr(key).toTensor()) : c10::IValue());
  }
  for (const c10::IValue n : c.ref.attr("attn_names").toList()) c.attn_names.push_back(n.toStringRef());
  for (int64_t calls : c.ref.attr("attn_calls").toIntList()) c.attn_calls.push_back(calls);
  if (c.ref.hasattr("atol_weights")) c.atol = c.ref.attr("atol_weights").toDouble();
  return c;
}

// Files that are not capture cases: a model traced under no_grad, whose attention
// cannot be captured (an error test covers it), and the capture_values fixtures
// (make_intermediates.py; intermediates_test.cpp).
inline bool is_error_case(const std::string& name) {
  return name == "traced_nograd_fused" || name.rfind("intermediates_", 0) == 0;
}

// The case names of a set: every <case>_ref.pt in its folder, sorted.
inline std::vector<std::string> case_names(const std::string& set) {
  std::vector<std::string> names;
  const std::string suffix = "_ref.pt";
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir(set))) {
    const std::string file = entry.path().filename().string();
    if (file.size() <= suffix.size() || file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string name = file.substr(0, file.size() - suffix.size());
    if (!is_error_case(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
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

// Every module and call of the case, allclose (atol 1e-6, or the case's own) to Python's weights.
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
      EXPECT_TRUE(torch::allclose(calls[call].to(torch::kFloat), reference, /*rtol=*/0, /*atol=*/c.atol))
          << name << " call " << call << ": max diff " << max_diff(calls[call], reference);
      EXPECT_FALSE(calls[call].requires_grad());
    }
    ++position;
  }
}

inline std::string grad_name(Grad grad) {
  return grad == Grad::kEnabled ? "Grad" : grad == Grad::kNoGrad ? "NoGrad" : "Inference";
}

}  // namespace attnhook_test
