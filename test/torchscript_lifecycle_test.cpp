// AttentionHooker on TorchScript models, lifecycle: hooking a model that already ran,
// the original left untouched with shared parameters, several hookers, remove_hooks()
// (nothing recorded, outputs bit-identical), a destroyed hooker, and the options.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "attnhook/attnhook.h"
#include "torchscript_fixtures.h"

namespace attnhook_test {
namespace {

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
    c.model.attr("layers")
        .toModule()
        .attr("0")
        .toModule()
        .attr("linear2")
        .toModule()
        .attr("bias")
        .toTensor()
        .add_(1);
  }
  EXPECT_TRUE(
      run(hooker.module(), c.inputs, Grad::kEnabled).equal(run(c.model, c.inputs, Grad::kEnabled)));
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
// (Every fixture case checks one paused forward in TorchScriptFixture; these cases, one
// per kind of graph — fused encoder paths, the nested path inlined into a user wrapper,
// an MHA called twice, hand-written and traced attention — check three, so that the
// profiling executor's optimised graph is reached.)
TEST(TorchScriptLifecycle, RemovedHooksRecordNothingAndChangeNothing) {
  for (const std::string& name :
       {"encoder_normfirst", "embed_encoder_masked", "shared_mha", "gpt_custom", "traced_mha"}) {
    for (const Grad grad : {Grad::kEnabled, Grad::kNoGrad, Grad::kInference}) {
      SCOPED_TRACE(name + " " + grad_name(grad));
      Case c = load_case(name);
      AttentionHooker hooker(c.model, HookerOptions());
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
    AttentionHooker hooker(c.model, HookerOptions());
    hooker.setup();
    kept = hooker.module();
  }
  EXPECT_TRUE(run(kept, c.inputs, Grad::kEnabled).equal(run(c.model, c.inputs, Grad::kEnabled)));
}

TEST(TorchScriptOptions, DtypeAndKeepGradAreHonoured) {
  Case c = load_case("bert_custom");
  AttentionHooker hooker(c.model,
                         HookerOptions().dtype(torch::kDouble).to_cpu(true));
  hooker.setup();
  run(hooker.module(), c.inputs, Grad::kEnabled);
  EXPECT_EQ(hooker.values().at("layers.0.attention")[0].scalar_type(), torch::kDouble);

  AttentionHooker keep(c.model, HookerOptions().keep_grad(true));
  keep.setup();
  std::vector<c10::IValue> args = c.inputs;
  const auto output = keep.module().forward(args).toTensor();
  const auto weights = keep.values().at("layers.1.attention")[0];
  ASSERT_TRUE(weights.requires_grad());
  const auto parameter = keep.module()
                             .attr("layers")
                             .toModule()
                             .attr("1")
                             .toModule()
                             .attr("attention")
                             .toModule()
                             .attr("q")
                             .toModule()
                             .attr("weight")
                             .toTensor();
  const auto grad =
      torch::autograd::grad({weights.select(1, 0).sum(-2).pow(2).sum()}, {parameter})[0];
  EXPECT_GT(grad.abs().sum().item<double>(), 0);
}

}  // namespace
}  // namespace attnhook_test
