// AttentionHooker on torch::nn models: every captured call equals PyTorch's own
// per-head weights for the same inputs, in train and eval, under grad, NoGradGuard
// and InferenceMode, and the model's output is bit-identical with and without hooks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <tuple>

#include "attnhook/attnhook.h"
#include "reference.h"

namespace nn = torch::nn;
using attnhook_test::attend;
using attnhook_test::Reference;

namespace {

constexpr double kDropout = 0.25;

torch::Tensor causal_mask(int64_t size) {
  return torch::triu(torch::full({size, size}, -std::numeric_limits<float>::infinity()), 1);
}

// Batch of 2; the second sequence ends in `padded` padding positions.
torch::Tensor padding_mask(int64_t length, int64_t padded) {
  auto mask = torch::zeros({2, length}, torch::kBool);
  mask.index_put_({1, torch::indexing::Slice(length - padded)}, true);
  return mask;
}

// An MHA three containers deep: Sequential -> Block -> ModuleDict -> MultiheadAttention,
// and ModuleList -> Block -> ModuleDict -> MultiheadAttention.
struct BlockImpl : nn::Module {
  BlockImpl() {
    torch::OrderedDict<std::string, std::shared_ptr<nn::Module>> items;
    items.insert("attn", nn::MultiheadAttention(nn::MultiheadAttentionOptions(16, 4).dropout(kDropout)).ptr());
    dict = register_module("dict", nn::ModuleDict(items));
  }
  nn::MultiheadAttention attn() {
    return nn::MultiheadAttention(std::dynamic_pointer_cast<nn::MultiheadAttentionImpl>(dict["attn"]));
  }
  torch::Tensor forward(const torch::Tensor& x) { return std::get<0>(attn()->forward(x, x, x)); }
  nn::ModuleDict dict{nullptr};
};
TORCH_MODULE(Block);

struct NestedImpl : nn::Module {
  NestedImpl() {
    seq = register_module("seq", nn::Sequential(nn::Linear(16, 16), Block()));
    blocks = register_module("blocks", nn::ModuleList(Block(), Block()));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = seq->forward(x);
    for (const auto& block : *blocks) x = block->as<BlockImpl>()->forward(x);
    return x;
  }
  nn::Sequential seq{nullptr};
  nn::ModuleList blocks{nullptr};
};
TORCH_MODULE(Nested);

// One attention module called twice per forward (self, then over a memory).
struct TwiceImpl : nn::Module {
  TwiceImpl() { attn = register_module("attn", nn::MultiheadAttention(nn::MultiheadAttentionOptions(16, 4).dropout(kDropout))); }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory) {
    auto once = std::get<0>(attn(x, x, x));
    return std::get<0>(attn(once, memory, memory));
  }
  nn::MultiheadAttention attn{nullptr};
};
TORCH_MODULE(Twice);

// Holds one MultiheadAttention with the given options, called on (query, key, value).
struct HolderImpl : nn::Module {
  explicit HolderImpl(const nn::MultiheadAttentionOptions& options) {
    attn = register_module("attn", nn::MultiheadAttention(options));
  }
  nn::MultiheadAttention attn{nullptr};
};
TORCH_MODULE(Holder);

enum class Model { kEncoder, kDecoder, kTransformer, kNested, kTwice, kKdimVdim, kBiasKvZeroAttn };
enum class Grad { kEnabled, kNoGrad, kInference };

struct ModelCase {
  std::shared_ptr<nn::Module> module;
  std::function<torch::Tensor()> run;                  // the model's own forward
  std::function<torch::Tensor(Reference&)> replay;     // the same, step by step
};

ModelCase make_case(Model model) {
  torch::manual_seed(7);
  const auto encoder_layer = nn::TransformerEncoderLayerOptions(16, 4).dim_feedforward(32).dropout(kDropout);
  const auto decoder_layer = nn::TransformerDecoderLayerOptions(16, 4).dim_feedforward(32).dropout(kDropout);
  switch (model) {
    case Model::kEncoder: {
      nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(encoder_layer, 2)
                                         .norm(nn::AnyModule(nn::LayerNorm(nn::LayerNormOptions({16})))));
      auto src = torch::randn({6, 2, 16});
      auto mask = causal_mask(6), padding = padding_mask(6, 2);
      return {encoder.ptr(), [=]() mutable { return encoder->forward(src, mask, padding); },
              [=](Reference& r) mutable { return attnhook_test::replay_encoder(*encoder, "", src, mask, padding, r); }};
    }
    case Model::kDecoder: {
      nn::TransformerDecoder decoder(nn::TransformerDecoderOptions(decoder_layer, 2));
      auto tgt = torch::randn({5, 2, 16}), memory = torch::randn({7, 2, 16});
      auto mask = causal_mask(5), memory_padding = padding_mask(7, 3);
      return {decoder.ptr(), [=]() mutable { return decoder->forward(tgt, memory, mask, {}, {}, memory_padding); },
              [=](Reference& r) mutable {
                return attnhook_test::replay_decoder(*decoder, "", tgt, memory, mask, {}, {}, memory_padding, r);
              }};
    }
    case Model::kTransformer: {
      nn::Transformer transformer(nn::TransformerOptions(16, 4, 1, 1).dim_feedforward(32).dropout(kDropout));
      auto src = torch::randn({7, 2, 16}), tgt = torch::randn({5, 2, 16});
      auto mask = causal_mask(5), src_padding = padding_mask(7, 2);
      return {transformer.ptr(),
              [=]() mutable { return transformer->forward(src, tgt, {}, mask, {}, src_padding, {}, src_padding); },
              [=](Reference& r) mutable {
                auto memory = attnhook_test::replay_encoder(
                    *transformer->encoder.ptr<nn::TransformerEncoderImpl>(), "encoder.", src, {}, src_padding, r);
                return attnhook_test::replay_decoder(*transformer->decoder.ptr<nn::TransformerDecoderImpl>(),
                                                     "decoder.", tgt, memory, mask, {}, {}, src_padding, r);
              }};
    }
    case Model::kNested: {
      Nested nested;
      auto x = torch::randn({4, 2, 16});
      return {nested.ptr(), [=]() mutable { return nested->forward(x); }, [=](Reference& r) mutable {
                auto h = nested->seq->ptr(0)->as<nn::LinearImpl>()->forward(x);
                auto attn_of = [](const std::shared_ptr<nn::Module>& block) {
                  return block->as<BlockImpl>()->attn();
                };
                auto a = attn_of(nested->seq->ptr(1));
                h = attend(a, "seq.1.dict.attn", h, h, h, {}, {}, r);
                for (size_t i = 0; i < 2; ++i) {
                  auto b = attn_of(nested->blocks->ptr(i));
                  h = attend(b, "blocks." + std::to_string(i) + ".dict.attn", h, h, h, {}, {}, r);
                }
                return h;
              }};
    }
    case Model::kTwice: {
      Twice twice;
      auto x = torch::randn({4, 2, 16}), memory = torch::randn({6, 2, 16});
      return {twice.ptr(), [=]() mutable { return twice->forward(x, memory); }, [=](Reference& r) mutable {
                auto attn = twice->attn;
                auto once = attend(attn, "attn", x, x, x, {}, {}, r);
                return attend(attn, "attn", once, memory, memory, {}, {}, r);
              }};
    }
    case Model::kKdimVdim: {
      // LibTorch's C++ MHA asserts key.sizes() == value.sizes(), so kdim == vdim here.
      Holder holder(nn::MultiheadAttentionOptions(16, 4).kdim(6).vdim(6).dropout(kDropout));
      auto q = torch::randn({4, 2, 16}), k = torch::randn({9, 2, 6}), v = torch::randn({9, 2, 6});
      return {holder.ptr(), [=]() mutable { return std::get<0>(holder->attn(q, k, v)); }, [=](Reference& r) mutable {
                auto attn = holder->attn;
                return attend(attn, "attn", q, k, v, {}, {}, r);
              }};
    }
    case Model::kBiasKvZeroAttn: {
      Holder holder(nn::MultiheadAttentionOptions(16, 4).add_bias_kv(true).add_zero_attn(true).dropout(kDropout));
      auto x = torch::randn({5, 2, 16});
      auto padding = padding_mask(5, 1);
      return {holder.ptr(), [=]() mutable { return std::get<0>(holder->attn(x, x, x, padding)); }, [=](Reference& r) mutable {
                auto attn = holder->attn;
                return attend(attn, "attn", x, x, x, padding, {}, r);
              }};
    }
  }
  throw std::logic_error("unknown model");
}

torch::Tensor run_in(Grad grad, const std::function<torch::Tensor()>& run) {
  switch (grad) {
    case Grad::kEnabled:
      return run();
    case Grad::kNoGrad: {
      torch::NoGradGuard guard;
      return run();
    }
    case Grad::kInference: {
      c10::InferenceMode guard;
      return run();
    }
  }
  return {};
}

class CaptureMatchesPyTorch : public ::testing::TestWithParam<std::tuple<Model, bool, Grad>> {};

TEST_P(CaptureMatchesPyTorch, PerHeadPreDropoutAndOutputsUnchanged) {
  const auto [model, train, grad] = GetParam();
  ModelCase c = make_case(model);
  c.module->train(train);
  constexpr uint64_t kSeed = 1234;

  torch::manual_seed(kSeed);
  const torch::Tensor plain = run_in(grad, c.run).detach();

  attnhook::AttentionHooker hooker(c.module);
  hooker.setup();
  torch::manual_seed(kSeed);
  const torch::Tensor hooked = run_in(grad, c.run).detach();
  hooker.remove_hooks();
  EXPECT_TRUE(plain.equal(hooked)) << "hooks changed the model's output";

  Reference reference;
  torch::manual_seed(kSeed);
  torch::Tensor replayed;
  {
    torch::NoGradGuard no_grad;
    replayed = c.replay(reference);
  }
  ASSERT_TRUE(torch::allclose(replayed, plain, 1e-5, 1e-6)) << "the test's replay drifted from the model";

  const attnhook::Values& values = hooker.values();
  ASSERT_EQ(values.size(), reference.before_dropout.size());
  int64_t dropped = 0;
  for (const auto& [name, expected] : reference.before_dropout) {
    SCOPED_TRACE(name);
    ASSERT_EQ(values.count(name), 1u);
    const auto& captured = values.at(name);
    ASSERT_EQ(captured.size(), expected.size());
    for (size_t call = 0; call < expected.size(); ++call) {
      const auto& weights = captured[call];
      ASSERT_EQ(weights.sizes(), expected[call].sizes());
      EXPECT_FALSE(weights.requires_grad());
      EXPECT_TRUE(torch::allclose(weights, expected[call], 0, 1e-6));
      EXPECT_TRUE(torch::allclose(weights.sum(-1), torch::ones_like(weights.sum(-1)), 0, 1e-5));
      if (train) {
        // What the call returned is the capture with dropout applied: each weight
        // either dropped or scaled by 1 / (1 - p).
        const auto& returned = reference.returned.at(name)[call];
        const auto kept = torch::isclose(returned, weights / (1 - kDropout), 1e-5, 1e-6);
        EXPECT_TRUE((kept | (returned == 0)).all().item<bool>());
        dropped += ((returned == 0) & (weights > 0)).sum().item<int64_t>();
      }
    }
  }
  if (train) EXPECT_GT(dropped, 0) << "dropout was not active: the train case tests nothing";
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<Model, bool, Grad>>& info) {
  static const char* models[] = {"Encoder", "Decoder", "Transformer", "Nested", "Twice", "KdimVdim", "BiasKvZeroAttn"};
  static const char* grads[] = {"Grad", "NoGrad", "InferenceMode"};
  const auto [model, train, grad] = info.param;
  return std::string(models[static_cast<int>(model)]) + (train ? "Train" : "Eval") + grads[static_cast<int>(grad)];
}

INSTANTIATE_TEST_SUITE_P(
    AllModels, CaptureMatchesPyTorch,
    ::testing::Combine(::testing::Values(Model::kEncoder, Model::kDecoder, Model::kTransformer, Model::kNested,
                                         Model::kTwice, Model::kKdimVdim, Model::kBiasKvZeroAttn),
                       ::testing::Bool(), ::testing::Values(Grad::kEnabled, Grad::kNoGrad, Grad::kInference)),
    case_name);

}  // namespace
