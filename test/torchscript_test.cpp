// AttentionHooker on TorchScript models: every fixture case (test/fixtures, made by
// make_fixtures.py with Python's own weights) is captured allclose to the reference
// in eval under grad, NoGradGuard and InferenceMode; hooked outputs equal Python's;
// a hooked MultiheadAttention returns what the caller asked for; errors name the bad value.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "attnhook/attnhook.h"
#include "torchscript_fixtures.h"

namespace attnhook_test {
namespace {

// (fixture set, case, grad mode)
using FixtureParam = std::tuple<std::string, std::string, Grad>;
class TorchScriptFixture : public testing::TestWithParam<FixtureParam> {};

// Every case of every fixture set this LibTorch runs, hooked with the default selection
// ("" = every attention module, hand-written ones included): hooked_names() and the
// captured calls are Python's (names, order, calls, shapes, weights allclose), in every
// grad mode; the hooked output is bit-identical to the unhooked model's on the same
// path — the same mode, or with grad enabled where the model has a fused fast path,
// which the hooked model leaves while capturing; with hooks removed it is the unhooked
// output in that mode again and nothing more is recorded.
TEST_P(TorchScriptFixture, CapturesPythonWeightsAndKeepsOutputs) {
  const auto& [set, name, grad] = GetParam();
  Case c = load_case(name, set);
  AttentionHooker hooker(c.model);
  hooker.setup();
  const auto output = run(hooker.module(), c.inputs, grad);
  EXPECT_EQ(hooker.hooked_names(), c.attn_names);
  expect_matches_reference(c, hooker.values());

  const auto original = run(c.model, c.inputs, grad);
  if (!output.equal(original)) {
    EXPECT_NE(c.ref.attr("fast_path_ops_script").toStringRef(), "")
        << "the outputs differ, and the model has no fused path: max diff " << max_diff(output, original);
    const auto original_grad = run(c.model, c.inputs, Grad::kEnabled);
    EXPECT_TRUE(output.equal(original_grad)) << "max diff " << max_diff(output, original_grad);
  }
  const double tolerance = std::max(1e-5, c.atol);
  EXPECT_LE(max_diff(output, c.tensor("output_grad")), tolerance);
  // Python's no_grad output, where it is the grad-enabled one up to rounding (a nested
  // fast path writes 0 at padded positions instead: see TorchScriptNested).
  if (max_diff(c.tensor("output_eval"), c.tensor("output_grad")) <= tolerance) {
    EXPECT_LE(max_diff(output, c.tensor("output_eval")), tolerance);
  }

  // Further forwards keep appending one tensor per call.
  run(hooker.module(), c.inputs, grad);
  expect_matches_reference(c, hooker.values(), 2);

  hooker.remove_hooks();
  hooker.clear();
  EXPECT_TRUE(run(hooker.module(), c.inputs, grad).equal(original));
  EXPECT_TRUE(hooker.values().empty());
}

std::vector<FixtureParam> fixture_params() {
  std::vector<FixtureParam> params;
  for (const auto& set : fixture_sets()) {
    for (const auto& name : case_names(set)) {
      for (const Grad grad : {Grad::kEnabled, Grad::kNoGrad, Grad::kInference}) params.emplace_back(set, name, grad);
    }
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(TorchScript, TorchScriptFixture, testing::ValuesIn(fixture_params()),
                         [](const auto& info) {
                           std::string set = "torch" + std::get<0>(info.param);
                           std::replace(set.begin(), set.end(), '.', '_');
                           return set + "_" + std::get<1>(info.param) + "_" + grad_name(std::get<2>(info.param));
                         });

// The one known deviation from Python's eval output: without grad, PyTorch's nested
// fast path runs the encoder on a nested tensor and pads the result with 0, so
// output_eval is 0 at padded positions; while capturing, the hooked module runs the
// dense path and returns there what the layers compute (= output_grad). Elsewhere the
// two agree within rounding. With hooks removed the fused path and its zeros return.
TEST(TorchScriptNested, CapturingWritesTheDenseValuesAtPaddedPositions) {
  Case c = load_case("encoder_nested");
  const auto padding = c.tensor("input_2");  // [batch, seq], true = padded
  ASSERT_GT(padding.sum().item<int64_t>(), 0);
  const auto output_eval = c.tensor("output_eval");  // [batch, seq, d_model]
  const auto output_grad = c.tensor("output_grad");
  const auto padded = padding.unsqueeze(-1).expand_as(output_eval);
  ASSERT_TRUE(output_eval.masked_select(padded).eq(0).all().item<bool>());

  AttentionHooker hooker(c.model);
  hooker.setup();
  const auto captured = run(hooker.module(), c.inputs, Grad::kNoGrad);
  expect_matches_reference(c, hooker.values());
  EXPECT_LE(max_diff(captured, output_grad), 1e-6);
  EXPECT_LE(max_diff(captured.masked_select(~padded), output_eval.masked_select(~padded)), 1e-5);
  EXPECT_TRUE(captured.masked_select(padded).ne(0).all().item<bool>())
      << "dense values, not the nested zeros";

  hooker.remove_hooks();
  const auto paused = run(hooker.module(), c.inputs, Grad::kNoGrad);
  EXPECT_TRUE(paused.equal(run(c.model, c.inputs, Grad::kNoGrad)));
  EXPECT_TRUE(paused.masked_select(padded).eq(0).all().item<bool>()) << "fused nested path again";
}

// shared_mha's `attn` called directly, with every need_weights x average_attn_weights:
// the hooked module returns bit for bit what the unhooked one returns, and records the
// per-head weights each time.
TEST(TorchScriptMha, DirectCallsReturnWhatTheCallerAskedFor) {
  Case c = load_case("shared_mha");
  AttentionHooker hooker(c.model);
  hooker.setup();
  auto original = c.model.attr("attn").toModule();
  auto hooked = hooker.module().attr("attn").toModule();
  const auto x = c.tensor("input_0");  // [batch, tgt, embed], batch_first
  size_t expected_calls = 0;
  for (const Grad grad : {Grad::kEnabled, Grad::kNoGrad}) {
    for (const bool need_weights : {false, true}) {
      for (const bool average : {false, true}) {
        SCOPED_TRACE(grad_name(grad) + " need_weights=" + std::to_string(need_weights) +
                     " average=" + std::to_string(average));
        const std::vector<c10::IValue> args = {
            x, x, x, c10::IValue(), need_weights, c10::IValue(), average};
        auto call = [&](torch::jit::Module& module) {
          torch::AutoGradMode mode(grad == Grad::kEnabled);
          return module.forward(args).toTuple();
        };
        // The unhooked module on the same (unfused) path: with grad enabled.
        const auto expected = [&] {
          torch::AutoGradMode enabled(true);
          return original.forward(args).toTuple();
        }();
        const auto got = call(hooked);
        ++expected_calls;
        EXPECT_TRUE(got->elements()[0].toTensor().equal(expected->elements()[0].toTensor()));
        ASSERT_EQ(got->elements()[1].isNone(), !need_weights);
        if (need_weights)
          EXPECT_TRUE(got->elements()[1].toTensor().equal(expected->elements()[1].toTensor()));
        const auto calls = hooker.values().at("attn");
        ASSERT_EQ(calls.size(), expected_calls);
        EXPECT_TRUE(
            torch::allclose(calls.back(), c.reference("attn", 0), 0, 1e-6));  // self-attention call
        if (need_weights && !average)
          EXPECT_TRUE(calls.back().equal(got->elements()[1].toTensor()));

        // Paused: what the original returns, fused path included, bit for bit.
        hooker.remove_hooks();
        const auto paused = call(hooked);
        const auto unhooked = call(original);
        EXPECT_TRUE(paused->elements()[0].toTensor().equal(unhooked->elements()[0].toTensor()));
        if (need_weights)
          EXPECT_TRUE(paused->elements()[1].toTensor().equal(unhooked->elements()[1].toTensor()));
        EXPECT_EQ(hooker.values().at("attn").size(), expected_calls);
        hooker.setup();
      }
    }
  }
}

// An unbatched call ([tgt, embed] query) is recorded as a batch of one.
TEST(TorchScriptMha, UnbatchedCallIsABatchOfOne) {
  Case c = load_case("shared_mha");
  AttentionHooker hooker(c.model);
  hooker.setup();
  auto hooked = hooker.module().attr("attn").toModule();
  const auto x = c.tensor("input_0")[0];  // [tgt, embed]
  const auto result =
      hooked.forward({x, x, x, c10::IValue(), true, c10::IValue(), false}).toTuple();
  const auto per_head = result->elements()[1].toTensor();  // [heads, tgt, src]
  const auto captured = hooker.values().at("attn")[0];    // [1, heads, tgt, src]
  ASSERT_EQ(captured.sizes(), (std::vector<int64_t>{1, 2, 5, 5}));
  EXPECT_TRUE(captured[0].equal(per_head.detach()));
}

// In train mode MultiheadAttention returns its weights after dropout; the hooker records
// them before (the softmax output): rows sum to 1 and equal the eval reference, since
// the first self-attention sees the model's input unchanged.
TEST(TorchScriptMha, TrainModeRecordsWeightsBeforeDropout) {
  Case c = load_case("decoder");  // dropout 0.1
  AttentionHooker hooker(c.model, HookerOptions().layer_regex(R"(^layers\.0\.self_attn$)"));
  hooker.module().train();
  hooker.setup();
  torch::manual_seed(0);
  run(hooker.module(), c.inputs, Grad::kEnabled);
  const auto captured = hooker.values().at("layers.0.self_attn")[0];
  EXPECT_TRUE(torch::allclose(captured, c.reference("layers.0.self_attn", 0), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(captured.sum(-1), torch::ones({2, 4, 5}), 0, 1e-5));
  EXPECT_FALSE(c.model.attr("training").toBool())
      << "train() on module() leaves the original alone";
}

// Two MHA instances of one TorchScript class: selecting one records only that one.
TEST(TorchScriptMha, InstancesOfOneClassAreToldApart) {
  Case c = load_case("decoder");
  ASSERT_EQ(
      c.model.attr("layers").toModule().attr("0").toModule().attr("self_attn").toModule().type(),
      c.model.attr("layers").toModule().attr("1").toModule().attr("self_attn").toModule().type());
  AttentionHooker hooker(c.model, HookerOptions().layer_regex(R"(^layers\.1\.self_attn$)"));
  hooker.setup();
  run(hooker.module(), c.inputs, Grad::kNoGrad);
  const auto& values = hooker.values();
  ASSERT_EQ(values.size(), 1u);
  ASSERT_EQ(values.at("layers.1.self_attn").size(), 1u);
  EXPECT_TRUE(torch::allclose(values.at("layers.1.self_attn")[0],
                              c.reference("layers.1.self_attn", 0), 0, 1e-6));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const attnhook::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not an attnhook::Error: ") + e.what();
  }
  return "no error";
}

TEST(TorchScriptErrors, LoadNamesThePathAndTheReason) {
  const std::string missing = fixtures_dir() + "/no_such_model.pt";
  const auto message = error_of([&] { attnhook::load_torchscript(missing); });
  EXPECT_NE(message.find("load_torchscript: cannot load '" + missing + "': "), std::string::npos)
      << message;
  EXPECT_NE(message.find("no such file"), std::string::npos) << message;

  const std::string garbage = testing::TempDir() + "/attnhook_garbage.pt";
  std::ofstream(garbage, std::ios::binary) << "this is not a TorchScript archive\n";
  const auto corrupt = error_of([&] { attnhook::load_torchscript(garbage); });
  std::remove(garbage.c_str());
  EXPECT_NE(corrupt.find("load_torchscript: cannot load '" + garbage + "': "), std::string::npos)
      << corrupt;
  EXPECT_NE(corrupt.find("zip archive"), std::string::npos) << corrupt;
}

TEST(TorchScriptErrors, SelectionErrorsNameThePatternAndWhy) {
  const Case decoder = load_case("decoder");
  torch::jit::Module plain("Plain");  // no attention anywhere
  plain.register_parameter("weight", torch::ones({4}), false);
  plain.define("def forward(self, x):\n  return x * self.weight\n");
  const std::string attention =
      "attention modules of this model: layers.0.self_attn, layers.0.multihead_attn, layers.1.self_attn, "
      "layers.1.multihead_attn";
  const struct {
    const torch::jit::Module& model;
    std::string pattern;
    std::string message;
  } cases[] = {
      {decoder.model, "(ab", "layer_regex '(ab' does not compile: missing ): (ab"},
      {decoder.model, "nothing_here", "layer_regex 'nothing_here' selects no module; " + attention},
      {decoder.model, R"(^layers\.0\.linear1$)",
       "layer_regex '^layers\\.0\\.linear1$' selects no attention module: it matches layers.0.linear1 "
       "(Linear), which holds no attention module; " + attention},
      {decoder.model, R"(^layers\.0$)",
       "layer_regex '^layers\\.0$' selects no attention module: it matches layers.0 "
       "(TransformerDecoderLayer), which contains layers.0.self_attn, layers.0.multihead_attn; " + attention},
      {decoder.model, R"(^layers$)",
       "layer_regex '^layers$' selects no attention module: it matches layers (ModuleList), which "
       "contains layers.0.self_attn, layers.0.multihead_attn, layers.1.self_attn, layers.1.multihead_attn; " +
           attention},
      {plain, "",
       "layer_regex '' selects every attention module, but this model has none: no MultiheadAttention, "
       "and no module of the model's own types computes a softmax or scaled_dot_product_attention"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(error_of([&] { AttentionHooker(c.model, HookerOptions().layer_regex(c.pattern)); }), c.message);
  }
}

// A model traced under torch.no_grad() has the fused encoder layer baked in: its
// attention modules are never called. The hooker says so, naming each module and the
// fused kernel, and how to export instead — it never hooks silently nothing.
TEST(TorchScriptErrors, ATraceWithFusedKernelsSaysHowToExportInstead) {
  const Case c = load_case("traced_nograd_fused");
  EXPECT_EQ(error_of([&] { AttentionHooker hooker(c.model); }),
            "cannot capture the attention of 'encoder.layers.0.self_attn' (MultiheadAttention) is never "
            "called: 'encoder.layers.0' runs the fused aten::_transformer_encoder_layer_fwd instead; "
            "'encoder.layers.1.self_attn' (MultiheadAttention) is never called: 'encoder.layers.1' runs "
            "the fused aten::_transformer_encoder_layer_fwd instead. A model traced under torch.no_grad() "
            "runs fused kernels that never compute the attention weights: trace it in eval mode with grad "
            "enabled (torch.jit.trace under torch.enable_grad()), or select other modules");
}

TEST(TorchScriptErrors, AHookedModuleCannotBeHookedAgain) {
  Case c = load_case("shared_mha");
  AttentionHooker hooker(c.model);
  EXPECT_EQ(error_of([&] { AttentionHooker again(hooker.module()); }),
            "AttentionHooker: module 'attn' is already hooked (an AttentionHooker::module()); hook "
            "the original model");
}

// A selection that mixes attention and attention-free modules keeps the attention.
TEST(TorchScriptSelection, ModulesWithoutSoftmaxAreLeftOut) {
  Case c = load_case("bert_custom");
  AttentionHooker hooker(c.model, HookerOptions().layer_regex("layers.1"));
  EXPECT_EQ(hooker.hooked_names(), std::vector<std::string>{"layers.1.attention"});
}

}  // namespace
}  // namespace attnhook_test
