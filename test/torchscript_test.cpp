// AttentionHooker on TorchScript models: every fixture case (test/fixtures, made by
// make_fixtures.py with Python's own weights) is captured allclose to the reference
// in eval under grad, NoGradGuard and InferenceMode; hooked outputs equal Python's;
// hooks never change what the hooked module computes; errors name the bad value.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <fstream>
#include <string>
#include <vector>

#include "attnhook/attnhook.h"

using attnhook::AttentionHooker;
using attnhook::HookerOptions;

namespace {

const std::string kFixtures = ATTNHOOK_FIXTURES_DIR;

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

Case load_case(const std::string& name) {
  Case c;
  c.name = name;
  c.model = attnhook::load_torchscript(kFixtures + "/" + name + ".pt");
  c.model.eval();
  c.ref = torch::jit::load(kFixtures + "/" + name + "_ref.pt");
  for (int64_t i = 0; i < c.ref.attr("num_inputs").toInt(); ++i) {
    const std::string key = "input_" + std::to_string(i);
    c.inputs.push_back(c.ref.hasattr(key) ? c10::IValue(c.ref.attr(key).toTensor()) : c10::IValue());
  }
  for (const c10::IValue n : c.ref.attr("attn_names").toList()) c.attn_names.push_back(n.toStringRef());
  for (int64_t calls : c.ref.attr("attn_calls").toIntList()) c.attn_calls.push_back(calls);
  for (const c10::IValue kind : c.ref.attr("attn_kinds").toList()) c.custom = c.custom || kind.toStringRef() == "custom";
  return c;
}

enum class Grad { kEnabled, kNoGrad, kInference };

at::Tensor run(torch::jit::Module& module, const std::vector<c10::IValue>& inputs, Grad grad) {
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

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Every module and call of the case, allclose (atol 1e-6) to Python's weights.
void expect_matches_reference(const Case& c, const attnhook::Values& values, size_t forwards = 1) {
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

const std::vector<std::string> kCases = {"encoder_seqfirst", "encoder_normfirst", "encoder_nested", "decoder",
                                         "transformer",      "bert_custom",       "gpt_custom",     "traced_mha",
                                         "traced_bert",      "shared_mha"};

std::string grad_name(Grad grad) {
  return grad == Grad::kEnabled ? "Grad" : grad == Grad::kNoGrad ? "NoGrad" : "Inference";
}

class TorchScriptFixture : public testing::TestWithParam<std::tuple<std::string, Grad>> {};

// The capture, in every grad mode, and the hooked output against Python's eager one:
// output_grad when grad is enabled; output_eval without grad, within 1e-5 (the hooked
// module runs the unfused path while capturing, PyTorch's eager model the fused one) —
// except encoder_nested, whose fused nested-tensor path writes 0 at padded positions.
TEST_P(TorchScriptFixture, CapturesPythonWeightsAndKeepsOutputs) {
  const auto& [name, grad] = GetParam();
  Case c = load_case(name);
  AttentionHooker hooker(c.model, HookerOptions().layer_regex(c.regex()));
  EXPECT_EQ(hooker.hooked_names(), c.attn_names);
  hooker.setup();
  const auto output = run(hooker.module(), c.inputs, grad);
  expect_matches_reference(c, hooker.values());

  // Outputs: with hooks bit-identical to the unhooked model on its unfused path.
  const auto original_grad = run(c.model, c.inputs, Grad::kEnabled);
  EXPECT_TRUE(output.equal(original_grad)) << "max diff " << max_diff(output, original_grad);
  const double tolerance = name == "traced_mha" ? 1e-5 : 1e-6;
  EXPECT_LE(max_diff(output, c.tensor("output_grad")), tolerance);
  if (name != "encoder_nested") {  // see TorchScriptNested
    EXPECT_LE(max_diff(output, c.tensor("output_eval")), 1e-5);
  }

  // Further forwards keep appending one tensor per call.
  run(hooker.module(), c.inputs, grad);
  expect_matches_reference(c, hooker.values(), 2);
}

INSTANTIATE_TEST_SUITE_P(TorchScript, TorchScriptFixture,
                         testing::Combine(testing::ValuesIn(kCases),
                                          testing::Values(Grad::kEnabled, Grad::kNoGrad, Grad::kInference)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + grad_name(std::get<1>(info.param));
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
  EXPECT_TRUE(captured.masked_select(padded).ne(0).all().item<bool>()) << "dense values, not the nested zeros";

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
        const std::vector<c10::IValue> args = {x, x, x, c10::IValue(), need_weights, c10::IValue(), average};
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
        if (need_weights) EXPECT_TRUE(got->elements()[1].toTensor().equal(expected->elements()[1].toTensor()));
        const auto& calls = hooker.values().at("attn");
        ASSERT_EQ(calls.size(), expected_calls);
        EXPECT_TRUE(torch::allclose(calls.back(), c.reference("attn", 0), 0, 1e-6));  // self-attention call
        if (need_weights && !average) EXPECT_TRUE(calls.back().equal(got->elements()[1].toTensor()));

        // Paused: what the original returns, fused path included, bit for bit.
        hooker.remove_hooks();
        const auto paused = call(hooked);
        const auto unhooked = call(original);
        EXPECT_TRUE(paused->elements()[0].toTensor().equal(unhooked->elements()[0].toTensor()));
        if (need_weights) EXPECT_TRUE(paused->elements()[1].toTensor().equal(unhooked->elements()[1].toTensor()));
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
  const auto result = hooked.forward({x, x, x, c10::IValue(), true, c10::IValue(), false}).toTuple();
  const auto per_head = result->elements()[1].toTensor();  // [heads, tgt, src]
  const auto& captured = hooker.values().at("attn")[0];  // [1, heads, tgt, src]
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
  const auto& captured = hooker.values().at("layers.0.self_attn")[0];
  EXPECT_TRUE(torch::allclose(captured, c.reference("layers.0.self_attn", 0), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(captured.sum(-1), torch::ones({2, 4, 5}), 0, 1e-5));
  EXPECT_FALSE(c.model.attr("training").toBool()) << "train() on module() leaves the original alone";
}

// Two MHA instances of one TorchScript class: selecting one records only that one.
TEST(TorchScriptMha, InstancesOfOneClassAreToldApart) {
  Case c = load_case("decoder");
  ASSERT_EQ(c.model.attr("layers").toModule().attr("0").toModule().attr("self_attn").toModule().type(),
            c.model.attr("layers").toModule().attr("1").toModule().attr("self_attn").toModule().type());
  AttentionHooker hooker(c.model, HookerOptions().layer_regex(R"(^layers\.1\.self_attn$)"));
  hooker.setup();
  run(hooker.module(), c.inputs, Grad::kNoGrad);
  const auto& values = hooker.values();
  ASSERT_EQ(values.size(), 1u);
  ASSERT_EQ(values.at("layers.1.self_attn").size(), 1u);
  EXPECT_TRUE(torch::allclose(values.at("layers.1.self_attn")[0], c.reference("layers.1.self_attn", 0), 0, 1e-6));
}

TEST(TorchScriptLifecycle, HooksAModelThatAlreadyRan) {
  Case c = load_case("encoder_normfirst");
  for (int i = 0; i < 3; ++i) {  // the profiling executor optimizes on later runs
    run(c.model, c.inputs, Grad::kNoGrad);
    run(c.model, c.inputs, Grad::kEnabled);
  }
  AttentionHooker hooker(c.model);
  hooker.setup();
  for (int i = 0; i < 3; ++i) run(hooker.module(), c.inputs, Grad::kNoGrad);
  expect_matches_reference(c, hooker.values(), 3);
}

TEST(TorchScriptLifecycle, OriginalUntouchedAndParametersShared) {
  Case c = load_case("encoder_nested");
  const auto before = run(c.model, c.inputs, Grad::kNoGrad);
  AttentionHooker hooker(c.model);
  hooker.setup();
  EXPECT_TRUE(run(c.model, c.inputs, Grad::kNoGrad).equal(before));
  EXPECT_TRUE(hooker.values().empty()) << "running the original records nothing";
  EXPECT_EQ(c.model.get_method("forward").graph()->toString().find("attnhook"), std::string::npos);
  const auto original = c.model.named_parameters();
  const auto hooked = hooker.module().named_parameters();
  ASSERT_EQ(original.size(), hooked.size());
  for (auto o = original.begin(), h = hooked.begin(); o != original.end(); ++o, ++h) {
    EXPECT_EQ((*o).name, (*h).name);
    EXPECT_TRUE((*o).value.is_same((*h).value)) << (*o).name;
  }
  // In-place updates of the original's parameters are seen by the hooked module.
  {
    torch::NoGradGuard no_grad;
    c.model.attr("layers").toModule().attr("0").toModule().attr("linear2").toModule().attr("bias").toTensor().add_(1);
  }
  EXPECT_TRUE(run(hooker.module(), c.inputs, Grad::kEnabled).equal(run(c.model, c.inputs, Grad::kEnabled)));
}

TEST(TorchScriptLifecycle, TwoHookersOnOneModelKeepTheirOwnRecords) {
  Case c = load_case("transformer");
  AttentionHooker all(c.model);
  AttentionHooker decoder(c.model, HookerOptions().layer_regex("^decoder"));
  all.setup();
  decoder.setup();
  run(all.module(), c.inputs, Grad::kNoGrad);
  expect_matches_reference(c, all.values());
  EXPECT_TRUE(decoder.values().empty()) << "each hooker records its own module()";
  run(decoder.module(), c.inputs, Grad::kEnabled);
  EXPECT_EQ(decoder.values().size(), 2u);
  all.remove_hooks();
  run(all.module(), c.inputs, Grad::kNoGrad);
  run(decoder.module(), c.inputs, Grad::kNoGrad);
  EXPECT_EQ(all.values().at("encoder.layers.0.self_attn").size(), 1u);
  EXPECT_EQ(decoder.values().at("decoder.layers.0.self_attn").size(), 2u);
}

// remove_hooks(), and before setup(): nothing recorded, outputs bit-identical to the
// original's in every grad mode (fused paths included). One model per grad mode: on
// LibTorch 1.13 a hand-written-attention model optimized by the profiling executor
// under grad, then run under InferenceMode, throws "Inference tensors cannot be saved
// for backward" — hooked or not.
TEST(TorchScriptLifecycle, RemovedHooksRecordNothingAndChangeNothing) {
  for (const std::string& name : kCases) {
    for (const Grad grad : {Grad::kEnabled, Grad::kNoGrad, Grad::kInference}) {
      SCOPED_TRACE(name + " " + grad_name(grad));
      Case c = load_case(name);
      AttentionHooker hooker(c.model, HookerOptions().layer_regex(c.regex()));
      for (const bool was_set_up : {false, true}) {
        if (was_set_up) {
          hooker.setup();
          run(hooker.module(), c.inputs, grad);
          EXPECT_FALSE(hooker.values().empty());
          hooker.remove_hooks();
          hooker.remove_hooks();  // idempotent
          hooker.clear();
        }
        for (int i = 0; i < 3; ++i) {  // profiled, then optimized runs
          EXPECT_TRUE(run(hooker.module(), c.inputs, grad).equal(run(c.model, c.inputs, grad)));
        }
        EXPECT_TRUE(hooker.values().empty());
        EXPECT_FALSE(hooker.active());
      }
    }
  }
}

TEST(TorchScriptLifecycle, DestroyedHookerLeavesACopiedModuleHarmless) {
  Case c = load_case("gpt_custom");
  torch::jit::Module kept;
  {
    AttentionHooker hooker(c.model, HookerOptions().layer_regex(c.regex()));
    hooker.setup();
    kept = hooker.module();
  }
  EXPECT_TRUE(run(kept, c.inputs, Grad::kEnabled).equal(run(c.model, c.inputs, Grad::kEnabled)));
}

TEST(TorchScriptOptions, DtypeAndKeepGradAreHonoured) {
  Case c = load_case("bert_custom");
  AttentionHooker hooker(c.model, HookerOptions().layer_regex(c.regex()).dtype(torch::kDouble).to_cpu(true));
  hooker.setup();
  run(hooker.module(), c.inputs, Grad::kEnabled);
  EXPECT_EQ(hooker.values().at("layers.0.attention")[0].scalar_type(), torch::kDouble);

  AttentionHooker keep(c.model, HookerOptions().layer_regex(c.regex()).keep_grad(true));
  keep.setup();
  std::vector<c10::IValue> args = c.inputs;
  const auto output = keep.module().forward(args).toTensor();
  const auto& weights = keep.values().at("layers.1.attention")[0];
  ASSERT_TRUE(weights.requires_grad());
  const auto parameter = keep.module().attr("layers").toModule().attr("1").toModule().attr("attention")
                             .toModule().attr("q").toModule().attr("weight").toTensor();
  const auto grad = torch::autograd::grad({weights.select(1, 0).sum(-2).pow(2).sum()}, {parameter})[0];
  EXPECT_GT(grad.abs().sum().item<double>(), 0);
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
  const std::string missing = kFixtures + "/no_such_model.pt";
  const auto message = error_of([&] { attnhook::load_torchscript(missing); });
  EXPECT_NE(message.find("load_torchscript: cannot load '" + missing + "': "), std::string::npos) << message;
  EXPECT_NE(message.find("no such file"), std::string::npos) << message;

  const std::string garbage = testing::TempDir() + "/attnhook_garbage.pt";
  std::ofstream(garbage, std::ios::binary) << "this is not a TorchScript archive\n";
  const auto corrupt = error_of([&] { attnhook::load_torchscript(garbage); });
  EXPECT_NE(corrupt.find("load_torchscript: cannot load '" + garbage + "': "), std::string::npos) << corrupt;
  EXPECT_NE(corrupt.find("zip archive"), std::string::npos) << corrupt;
}

TEST(TorchScriptErrors, SelectionErrorsNameThePatternAndWhy) {
  const Case decoder = load_case("decoder");
  const Case bert = load_case("bert_custom");
  const struct {
    const torch::jit::Module& model;
    std::string pattern;
    std::string message;
  } cases[] = {
      {decoder.model, "(ab", "layer_regex '(ab' does not compile: missing ): (ab"},
      {decoder.model, "nothing_here",
       "layer_regex 'nothing_here' selects no module; attention modules of this model: layers.0.self_attn, "
       "layers.0.multihead_attn, layers.1.self_attn, layers.1.multihead_attn"},
      {decoder.model, R"(^layers\.0\.linear1$)",
       "layer_regex '^layers\\.0\\.linear1$' selects no module that computes attention: 'layers.0.linear1' "
       "(__torch__.torch.nn.modules.linear.Linear) computes no softmax in its forward (attention in submodules "
       "is captured by selecting them)"},
      {decoder.model, R"(^layers\.0$)",
       "layer_regex '^layers\\.0$' selects no module that computes attention: 'layers.0' "
       "(__torch__.torch.nn.modules.transformer.TransformerDecoderLayer) computes no softmax in its forward "
       "(attention in submodules is captured by selecting them)"},
      {decoder.model, R"(^layers$)",
       "layer_regex '^layers$' selects no module that computes attention: 'layers' "
       "(__torch__.torch.nn.modules.container.ModuleList) has no forward method"},
      {bert.model, "",
       "layer_regex '' selects every multi-head attention module, but the model has none; name its "
       "hand-written attention modules with a pattern"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(error_of([&] { AttentionHooker(c.model, HookerOptions().layer_regex(c.pattern)); }), c.message);
  }
}

TEST(TorchScriptErrors, AHookedModuleCannotBeHookedAgain) {
  Case c = load_case("shared_mha");
  AttentionHooker hooker(c.model);
  EXPECT_EQ(error_of([&] { AttentionHooker again(hooker.module()); }),
            "AttentionHooker: module 'attn' is already hooked (an AttentionHooker::module()); hook the original model");
}

// A selection that mixes attention and attention-free modules keeps the attention.
TEST(TorchScriptSelection, ModulesWithoutSoftmaxAreLeftOut) {
  Case c = load_case("bert_custom");
  AttentionHooker hooker(c.model, HookerOptions().layer_regex("layers.1"));
  EXPECT_EQ(hooker.hooked_names(), std::vector<std::string>{"layers.1.attention"});
}

}  // namespace
