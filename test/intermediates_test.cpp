// capture_values and capture_scores: named locals of TorchScript models (a timm-style ViT
// whose `attn` is reassigned three times, and sigmoid attention, which has no softmax)
// recorded as Python's eager model held them (test/fixtures/make_intermediates.py);
// outputs bit-identical; a later in-place op does not reach the record; errors name
// what is missing.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "attnhook/attnhook.h"
#include "models.h"
#include "testing.h"
#include "torchscript_fixtures.h"

namespace {

using attnhook::AttentionHooker;
using attnhook::HookerOptions;
using attnhook_test::error_of;

struct Intermediates {
  torch::jit::Module model, ref;
  at::Tensor image;
  std::map<std::string, std::vector<at::Tensor>> refs;  // Python's values, keyed like values()
};

Intermediates load(const std::string& name) {
  Intermediates c;
  c.model = attnhook::load_torchscript(attnhook_test::fixtures_dir() + "/" + name + ".pt");
  c.model.eval();
  c.ref = torch::jit::load(attnhook_test::fixtures_dir() + "/" + name + "_ref.pt");
  c.image = c.ref.attr("input_0").toTensor();
  for (const auto& item : c.ref.attr("refs").toGenericDict()) {
    for (const auto& tensor : item.value().toTensorList()) c.refs[item.key().toStringRef()].push_back(tensor);
  }
  return c;
}

// Every entry of values() is one of Python's, call for call, and every one of Python's
// is there.
void expect_values_are_pythons(const attnhook::Values& values, const Intermediates& c) {
  size_t entries = 0;
  for (const auto& [name, calls] : values) {
    SCOPED_TRACE(name);
    ++entries;
    ASSERT_TRUE(c.refs.count(name)) << "not one of Python's";
    const auto& expected = c.refs.at(name);
    ASSERT_EQ(calls.size(), expected.size());
    for (size_t call = 0; call < calls.size(); ++call) {
      ASSERT_EQ(calls[call].sizes(), expected[call].sizes());
      EXPECT_TRUE(torch::allclose(calls[call], expected[call], 0, 1e-6))
          << "call " << call << ": max diff " << (calls[call] - expected[call]).abs().max().item<double>();
    }
  }
  EXPECT_EQ(entries, c.refs.size());
}

TEST(CaptureValues, TimmStyleVitLocalsScoresAndWeights) {
  auto c = load("intermediates_timm_vit");
  AttentionHooker hooker(c.model, HookerOptions().capture_values({"q", "k", "attn"}).capture_scores(true));
  EXPECT_EQ(hooker.hooked_names(), (std::vector<std::string>{"blocks.0.attn", "blocks.1.attn"}));
  hooker.setup();
  torch::NoGradGuard no_grad;
  const auto output = hooker.module().forward({c.image}).toTensor();
  EXPECT_TRUE(output.equal(c.model.forward({c.image}).toTensor()));
  EXPECT_TRUE(output.equal(c.ref.attr("output").toTensor()));
  const auto values = hooker.values();
  expect_values_are_pythons(values, c);
  std::vector<std::string> order;
  for (const auto& [name, calls] : values) order.push_back(name);
  EXPECT_EQ(order, (std::vector<std::string>{"blocks.0.attn", "blocks.0.attn/scores", "blocks.0.attn/q",
                                             "blocks.0.attn/k", "blocks.0.attn/attn", "blocks.0.attn/attn#1",
                                             "blocks.0.attn/attn#2", "blocks.1.attn", "blocks.1.attn/scores",
                                             "blocks.1.attn/q", "blocks.1.attn/k", "blocks.1.attn/attn",
                                             "blocks.1.attn/attn#1", "blocks.1.attn/attn#2"}))
      << "model order; per module: weights, scores, then the values in the order asked for";
}

// No softmax: the module counts as attention because it holds a requested local.
// The model zeroes its map in place after using it; the record keeps the values.
TEST(CaptureValues, SigmoidAttentionMapSurvivesALaterInPlaceOp) {
  auto c = load("intermediates_sigmoid");
  AttentionHooker hooker(c.model, HookerOptions().capture_values({"attn_map"}));
  EXPECT_EQ(hooker.hooked_names(), (std::vector<std::string>{"blocks.0.attn", "blocks.1.attn"}));
  hooker.setup();
  const auto output = hooker.module().forward({c.image}).toTensor().detach();
  EXPECT_TRUE(output.equal(c.model.forward({c.image}).toTensor().detach()));
  const auto values = hooker.values();
  expect_values_are_pythons(values, c);
  EXPECT_GT(values.at("blocks.0.attn/attn_map")[0].min().item<double>(), 0.0) << "not the zeroed map";
}

TEST(CaptureValues, ErrorsNameWhatIsMissing) {
  auto c = load("intermediates_timm_vit");
  const auto message =
      error_of([&] { AttentionHooker(c.model, HookerOptions().layer_regex("blocks.0").capture_values({"attn_map"})); });
  EXPECT_EQ(message.rfind("capture_values: no selected module has a tensor value named 'attn_map'. Named tensor "
                          "values: 'blocks.0.attn' has ",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find(", qkv, "), std::string::npos) << "lists the module's locals: " << message;
  EXPECT_NE(message.find("script the module (torch.jit.script)"), std::string::npos) << message;

  auto encoder = attnhook_test::make_encoder(1);
  EXPECT_EQ(error_of([&] { AttentionHooker(encoder, HookerOptions().capture_values({"attn_map", "q"})); }),
            "capture_values(attn_map, q) needs a TorchScript model: the locals of C++ code have no names. Return the "
            "tensor from a module's forward, or export the model with torch.jit.script");
}

// capture_scores on a torch::nn MultiheadAttention: the softmax's input, per head; its
// softmax is the recorded weights.
TEST(CaptureScores, TorchNnMultiheadAttention) {
  auto encoder = attnhook_test::make_encoder(1);
  AttentionHooker hooker(encoder, HookerOptions().capture_scores(true));
  hooker.setup();
  torch::NoGradGuard no_grad;
  encoder->forward(torch::randn({5, 2, 16}));
  const auto values = hooker.values();
  const auto scores = values.at("layers.0.self_attn/scores")[0];
  ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{2, 4, 5, 5}));
  EXPECT_TRUE(torch::allclose(torch::softmax(scores, -1), values.at("layers.0.self_attn")[0], 0, 1e-6));
  EXPECT_EQ(hooker.hooked_names(), std::vector<std::string>{"layers.0.self_attn"});
}

}  // namespace
