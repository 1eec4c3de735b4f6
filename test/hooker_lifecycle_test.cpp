// AttentionHooker lifecycle and selection on torch::nn models: hand-written attention,
// subsets, remove/destroy/move, several hookers, threads, backward, keep_grad, options.
#include <ATen/record_function.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <thread>

#include "attnhook/attnhook.h"
#include "models.h"

namespace nn = torch::nn;
using attnhook::AttentionHooker;
using attnhook::HookerOptions;
using attnhook_test::encoder_reference;
using attnhook_test::make_encoder;

namespace {

std::vector<std::string> names_of(const attnhook::Values& values) {
  std::vector<std::string> names;
  for (const auto& [name, calls] : values) names.push_back(name);
  return names;
}

TEST(HookerSelection, HandWrittenAttentionCapturesItsOwnSoftmaxOnly) {
  torch::manual_seed(0);
  attnhook_test::TinyBert bert;
  AttentionHooker hooker(bert, HookerOptions().layer_regex("attention$"));
  hooker.setup();
  bert->forward(torch::randn({2, 5, 16}));
  const auto& values = hooker.values();
  EXPECT_EQ(names_of(values), (std::vector<std::string>{"layers.0.attention", "layers.1.attention"}));
  for (size_t layer = 0; layer < 2; ++layer) {
    const auto& calls = values.at("layers." + std::to_string(layer) + ".attention");
    ASSERT_EQ(calls.size(), 1u) << "the classifier's softmax must not count as attention";
    EXPECT_EQ(calls[0].sizes(), (std::vector<int64_t>{2, 4, 5, 5}));
    EXPECT_TRUE(calls[0].equal(bert->attention(layer).log.at(0)));
  }
}

TEST(HookerSelection, RegexSelectsSubsetInModelOrder) {
  torch::manual_seed(0);
  auto encoder = make_encoder(12);
  AttentionHooker hooker(encoder, HookerOptions().layer_regex(R"(layers\.(2|10|11)\.self_attn$)"));
  EXPECT_EQ(hooker.hooked_names(),
            (std::vector<std::string>{"layers.2.self_attn", "layers.10.self_attn", "layers.11.self_attn"}));
  hooker.setup();
  const auto x = torch::randn({4, 1, 16});
  encoder->forward(x);
  EXPECT_EQ(names_of(hooker.values()), hooker.hooked_names());
  EXPECT_TRUE(torch::allclose(hooker.values().at("layers.10.self_attn")[0], encoder_reference(encoder, 10, x),
                              0, 1e-6));
}

TEST(HookerSelection, DefaultSelectsEveryMultiheadAttentionInModelOrder) {
  auto encoder = make_encoder(11);
  AttentionHooker hooker(encoder);
  const auto names = hooker.hooked_names();
  ASSERT_EQ(names.size(), 11u);
  EXPECT_EQ(names[9], "layers.9.self_attn");
  EXPECT_EQ(names[10], "layers.10.self_attn");  // model order, not alphabetical
}

// A pattern that matches a layer and everything in it selects only the attention
// module inside: each call is recorded once, per head, under that module.
TEST(HookerSelection, ALayerPatternRecordsEachCallOnceUnderItsAttention) {
  auto encoder = make_encoder(3);
  AttentionHooker hooker(encoder, HookerOptions().layer_regex(R"(^layers\.1)"));
  EXPECT_EQ(hooker.hooked_names(), std::vector<std::string>{"layers.1.self_attn"});
  hooker.setup();
  const auto x = torch::randn({4, 2, 16});
  encoder->forward(x);
  const auto values = hooker.values();
  EXPECT_EQ(names_of(values), std::vector<std::string>{"layers.1.self_attn"});
  ASSERT_EQ(values.at("layers.1.self_attn").size(), 1u);
  EXPECT_EQ(values.at("layers.1.self_attn")[0].sizes(), (std::vector<int64_t>{2, 4, 4, 4}));
  EXPECT_TRUE(torch::allclose(values.at("layers.1.self_attn")[0], encoder_reference(encoder, 1, x), 0, 1e-6));
}

TEST(HookerLifecycle, RemoveHooksStopsRecordingAndKeepsValues) {
  auto encoder = make_encoder(2);
  AttentionHooker hooker(encoder);
  hooker.setup();
  EXPECT_TRUE(hooker.active());
  encoder->forward(torch::randn({3, 1, 16}));
  hooker.remove_hooks();
  hooker.remove_hooks();  // idempotent
  EXPECT_FALSE(hooker.active());
  encoder->forward(torch::randn({3, 1, 16}));
  EXPECT_EQ(hooker.values().at("layers.0.self_attn").size(), 1u);
  EXPECT_FALSE(at::hasGlobalCallbacks()) << "the last hooker removed must remove the observer";

  hooker.setup();
  hooker.setup();  // installing twice records once
  encoder->forward(torch::randn({3, 1, 16}));
  EXPECT_EQ(hooker.values().at("layers.0.self_attn").size(), 2u);
  hooker.clear();
  EXPECT_TRUE(hooker.values().empty());
  EXPECT_EQ(hooker.values().count("layers.0.self_attn"), 0u);
}

TEST(HookerLifecycle, DestructorRemovesHooks) {
  auto encoder = make_encoder(1);
  {
    AttentionHooker hooker(encoder);
    hooker.setup();
    EXPECT_TRUE(at::hasGlobalCallbacks());
  }
  EXPECT_FALSE(at::hasGlobalCallbacks());
  AttentionHooker later(encoder);  // a new hooker (possibly at the freed address) starts empty
  later.setup();
  encoder->forward(torch::randn({3, 1, 16}));
  EXPECT_EQ(later.values().at("layers.0.self_attn").size(), 1u);
}

TEST(HookerLifecycle, MovedFromHookerIsEmptyAndMovedToRecords) {
  auto encoder = make_encoder(1);
  AttentionHooker first(encoder);
  first.setup();
  AttentionHooker second(std::move(first));
  encoder->forward(torch::randn({3, 1, 16}));
  EXPECT_EQ(second.values().at("layers.0.self_attn").size(), 1u);
  EXPECT_TRUE(first.values().empty());     // NOLINT(bugprone-use-after-move): documented state
  EXPECT_TRUE(first.hooked_names().empty());  // NOLINT
  try {
    first.setup();  // NOLINT
    FAIL() << "setup on a moved-from hooker must throw";
  } catch (const attnhook::Error& e) {
    EXPECT_STREQ(e.what(), "AttentionHooker::setup: this hooker was moved from");
  }
}

TEST(HookerLifecycle, TwoHookersKeepTheirOwnRecords) {
  auto encoder = make_encoder(2);
  AttentionHooker all(encoder);
  AttentionHooker last(encoder, HookerOptions().layer_regex(R"(layers\.1\.self_attn)"));
  all.setup();
  last.setup();
  encoder->forward(torch::randn({3, 1, 16}));
  last.clear();
  encoder->forward(torch::randn({3, 1, 16}));
  EXPECT_EQ(all.values().at("layers.0.self_attn").size(), 2u);
  EXPECT_EQ(all.values().at("layers.1.self_attn").size(), 2u);
  EXPECT_EQ(names_of(last.values()), (std::vector<std::string>{"layers.1.self_attn"}));
  EXPECT_EQ(last.values().at("layers.1.self_attn").size(), 1u);
  EXPECT_TRUE(all.values().at("layers.1.self_attn")[1].equal(last.values().at("layers.1.self_attn")[0]));
}

TEST(HookerThreads, ForwardOnAnotherThreadIsCaptured) {
  auto encoder = make_encoder(2);
  AttentionHooker hooker(encoder);
  hooker.setup();
  const auto x = torch::randn({3, 2, 16});
  std::thread([&] {
    torch::NoGradGuard no_grad;
    encoder->forward(x);
  }).join();
  ASSERT_EQ(hooker.values().at("layers.1.self_attn").size(), 1u);
  EXPECT_TRUE(torch::allclose(hooker.values().at("layers.1.self_attn")[0], encoder_reference(encoder, 1, x), 0, 1e-6));
}

TEST(HookerThreads, ConcurrentForwardsLoseNoCapture) {
  auto encoder = make_encoder(2);
  encoder->eval();
  const auto a = torch::randn({5, 1, 16}), b = torch::randn({5, 1, 16});
  const auto reference_a = encoder_reference(encoder, 1, a), reference_b = encoder_reference(encoder, 1, b);
  AttentionHooker hooker(encoder);
  hooker.setup();
  constexpr int kForwards = 25;
  auto run = [&](const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    for (int i = 0; i < kForwards; ++i) encoder->forward(x);
  };
  std::thread first(run, a), second(run, b);
  first.join();
  second.join();
  const auto calls = hooker.values().at("layers.1.self_attn");
  ASSERT_EQ(calls.size(), 2u * kForwards);
  int from_a = 0, from_b = 0;
  for (const auto& weights : calls) {
    from_a += torch::allclose(weights, reference_a, 0, 1e-6);
    from_b += torch::allclose(weights, reference_b, 0, 1e-6);
  }
  EXPECT_EQ(from_a, kForwards);
  EXPECT_EQ(from_b, kForwards);
}

TEST(HookerGrad, BackwardAddsNoCapture) {
  auto encoder = make_encoder(2);
  encoder->train();
  AttentionHooker hooker(encoder);
  hooker.setup();
  auto out = encoder->forward(torch::randn({3, 2, 16}));
  out.pow(2).sum().backward();
  EXPECT_EQ(hooker.values().at("layers.0.self_attn").size(), 1u);
  EXPECT_EQ(hooker.values().at("layers.1.self_attn").size(), 1u);
  EXPECT_TRUE(encoder->layers->ptr<nn::TransformerEncoderLayerImpl>(0)->self_attn->in_proj_weight.grad().defined());
}

TEST(HookerGrad, KeepGradGivesTheGradientOfAttention) {
  torch::manual_seed(0);
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(8, 2));
  const auto x = torch::randn({4, 1, 8});
  AttentionHooker hooker(mha, HookerOptions().keep_grad(true));
  hooker.setup();
  mha->forward(x, x, x);
  const auto captured = hooker.values().at("")[0];
  ASSERT_TRUE(captured.requires_grad());
  // The same function of PyTorch's own per-head weights, differentiated the same way.
  const auto reference = std::get<1>(mha->forward(x, x, x, {}, true, {}, false));
  auto objective = [](const torch::Tensor& w) { return (w.select(1, 1) * torch::arange(4.0)).sum(); };
  const auto grad = torch::autograd::grad({objective(captured)}, {mha->in_proj_weight})[0];
  const auto expected = torch::autograd::grad({objective(reference)}, {mha->in_proj_weight})[0];
  ASSERT_TRUE(grad.defined());
  EXPECT_GT(grad.abs().sum().item<double>(), 0);
  EXPECT_TRUE(torch::allclose(grad, expected, 1e-5, 1e-7));
}

TEST(HookerOptions, DtypeConvertsAndDoubleModelsStayObserved) {
  auto encoder = make_encoder(1);
  AttentionHooker hooker(encoder, HookerOptions().dtype(torch::kFloat16).to_cpu(true));
  encoder->to(torch::kDouble);  // keeps each parameter's TensorImpl
  hooker.setup();
  encoder->forward(torch::randn({3, 1, 16}, torch::kDouble));
  const auto weights = hooker.values().at("layers.0.self_attn")[0];
  EXPECT_EQ(weights.scalar_type(), torch::kFloat16);
  EXPECT_TRUE(weights.device().is_cpu());

  AttentionHooker keep(encoder);
  keep.setup();
  encoder->forward(torch::randn({3, 1, 16}, torch::kDouble));
  EXPECT_EQ(keep.values().at("layers.0.self_attn")[0].scalar_type(), torch::kDouble);
}

}  // namespace
