// Bad selections and bad models: each an attnhook::Error whose text names the bad value.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attnhook/attnhook.h"
#include "models.h"
#include "testing.h"

namespace {

using attnhook_test::error_of;

struct BadPattern {
  const char* pattern;
  const char* message;
};

class BadLayerRegex : public ::testing::TestWithParam<BadPattern> {};

TEST_P(BadLayerRegex, NamesThePatternAndTheReason) {
  auto encoder = attnhook_test::make_encoder(2);
  const auto message = error_of([&] {
    attnhook::AttentionHooker(encoder, attnhook::HookerOptions().layer_regex(GetParam().pattern));
  });
  EXPECT_EQ(message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadLayerRegex,
    ::testing::Values(
        BadPattern{"(ab", "layer_regex '(ab' does not compile: missing ): (ab"},
        BadPattern{"layers.[0", "layer_regex 'layers.[0' does not compile: missing ]: [0"},
        BadPattern{"a**", "layer_regex 'a**' does not compile: bad repetition operator: **"},
        BadPattern{"decoder",
                   "layer_regex 'decoder' selects no module; attention modules of this model: "
                   "layers.0.self_attn, layers.1.self_attn"},
        BadPattern{R"(^layers\.0$)",
                   "layer_regex '^layers\\.0$' selects no attention module: it matches layers.0 "
                   "(TransformerEncoderLayer), which contains layers.0.self_attn; attention modules of "
                   "this model: layers.0.self_attn, layers.1.self_attn"},
        BadPattern{R"(linear|norm)",
                   "layer_regex 'linear|norm' selects no attention module: it matches layers.0.linear1 "
                   "(Linear), which holds no attention module; layers.0.linear2 (Linear), which holds no "
                   "attention module; layers.0.norm1 (LayerNorm), which holds no attention module; "
                   "layers.0.norm2 (LayerNorm), which holds no attention module; layers.1.linear1 "
                   "(Linear), which holds no attention module; layers.1.linear2 (Linear), which holds no "
                   "attention module; layers.1.norm1 (LayerNorm), which holds no attention module; "
                   "layers.1.norm2 (LayerNorm), which holds no attention module; attention modules of "
                   "this model: layers.0.self_attn, layers.1.self_attn"}));

TEST(BadModel, NullModel) {
  EXPECT_EQ(error_of([] { attnhook::AttentionHooker(std::shared_ptr<torch::nn::Module>()); }),
            "AttentionHooker: the model is null");
}

TEST(BadModel, AModelWithoutAttention) {
  torch::nn::Sequential model(torch::nn::Linear(4, 4), torch::nn::ReLU());
  EXPECT_EQ(error_of([&] { attnhook::AttentionHooker{model}; }),
            "layer_regex '' selects every attention module, but this model has none: no "
            "MultiheadAttention, and no module of the model's own types computes a softmax or "
            "scaled_dot_product_attention");
  EXPECT_EQ(error_of([&] { attnhook::AttentionHooker(model, attnhook::HookerOptions().layer_regex("^1$")); }),
            "layer_regex '^1$' selects no attention module: it matches 1 (ReLU), which holds no attention "
            "module; attention modules of this model: none");
}

TEST(BadValues, UnknownNameListsWhatWasRecorded) {
  auto encoder = attnhook_test::make_encoder(2);
  attnhook::AttentionHooker hooker(encoder, attnhook::HookerOptions().layer_regex("layers.1.self_attn"));
  EXPECT_EQ(error_of([&] { hooker.values().at("layers.1.self_attn"); }),
            "no attention recorded for 'layers.1.self_attn'; recorded: (nothing)");
  hooker.setup();
  encoder->forward(torch::randn({3, 1, 16}));
  EXPECT_EQ(error_of([&] { hooker.values().at("layers.0.self_attn"); }),
            "no attention recorded for 'layers.0.self_attn'; recorded: layers.1.self_attn");
}

}  // namespace
