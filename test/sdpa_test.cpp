// SDPA capture on torch::nn models: hand-written C++ attention that calls
// torch::scaled_dot_product_attention records, per call, the weights SDPA used but never
// returns. Two independent references: the same attention written out in plain ops
// (matmul, mask, softmax), and SDPA's own output, which must equal weights · value. The
// model's output is bit-identical with and without hooks. LibTorch 1.13 has no SDPA.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <limits>
#include <optional>

#include "attnhook/attnhook.h"

namespace {

#if TORCH_VERSION_MAJOR >= 2

using attnhook::AttentionHooker;
using attnhook::HookerOptions;

// q, k, v and output projections; kv_heads < heads is grouped-query attention.
struct SdpaAttentionImpl : torch::nn::Module {
  SdpaAttentionImpl(int64_t dim, int64_t heads, int64_t kv_heads) : heads(heads), kv_heads(kv_heads) {
    head_dim = dim / heads;
    query = register_module("query", torch::nn::Linear(dim, dim));
    key = register_module("key", torch::nn::Linear(dim, kv_heads * head_dim));
    value = register_module("value", torch::nn::Linear(dim, kv_heads * head_dim));
    output = register_module("output", torch::nn::Linear(dim, dim));
  }
  // [batch, len, dim] -> [batch, heads, len, head_dim]
  torch::Tensor split(const torch::Tensor& x, int64_t count) {
    return x.view({x.size(0), x.size(1), count, head_dim}).transpose(1, 2);
  }
  // x: [batch, tgt, dim], memory: [batch, src, dim]. Keeps what SDPA saw, for the references.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory, const std::optional<torch::Tensor>& mask,
                        bool is_causal, std::optional<double> scale = std::nullopt, double dropout = 0.0) {
    q = split(query(x), heads);
    k = split(key(memory), kv_heads);
    v = split(value(memory), kv_heads);
    attended = torch::scaled_dot_product_attention(q, k, v, mask, dropout, is_causal, scale,
                                                   /*enable_gqa=*/kv_heads != heads);
    return output(attended.transpose(1, 2).reshape({x.size(0), x.size(1), -1}));
  }
  int64_t heads, kv_heads, head_dim;
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, output{nullptr};
  torch::Tensor q, k, v, attended;
};
TORCH_MODULE(SdpaAttention);

// The user's model: an embedding-free stack of two attention modules and a head.
struct TwoLayerImpl : torch::nn::Module {
  TwoLayerImpl(int64_t heads, int64_t kv_heads) {
    first = register_module("first", SdpaAttention(16, heads, kv_heads));
    second = register_module("second", SdpaAttention(16, heads, kv_heads));
    head = register_module("head", torch::nn::Linear(16, 3));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory, const std::optional<torch::Tensor>& mask,
                        bool is_causal, std::optional<double> scale = std::nullopt) {
    auto h = first(x, memory, mask, is_causal, scale);
    return head(second(h, memory, mask, is_causal, scale));
  }
  SdpaAttention first{nullptr}, second{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(TwoLayer);

// softmax(q kᵀ · scale + mask) in plain ops, float64; top-left causal; GQA by repeating keys.
torch::Tensor eager_weights(const SdpaAttentionImpl& attn, const std::optional<torch::Tensor>& mask, bool is_causal,
                            std::optional<double> scale) {
  auto q = attn.q.to(torch::kDouble), k = attn.k.to(torch::kDouble);
  if (attn.kv_heads != attn.heads) k = k.repeat_interleave(attn.heads / attn.kv_heads, 1);
  auto scores = q.matmul(k.transpose(-2, -1)) * scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  const double minus_inf = -std::numeric_limits<double>::infinity();
  if (is_causal) scores = scores.masked_fill(torch::ones({q.size(2), k.size(2)}, torch::kBool).tril().logical_not(), minus_inf);
  if (mask) scores = mask->scalar_type() == torch::kBool ? scores.masked_fill(mask->logical_not(), minus_inf)
                                                         : scores + mask->to(torch::kDouble);
  auto weights = torch::softmax(scores, -1);
  return torch::where(weights.isnan(), torch::zeros_like(weights), weights);  // fully masked rows: 0
}

struct Scenario {
  const char* name;
  int64_t heads, kv_heads, tgt, src;
  bool is_causal;
  std::optional<double> scale;
  enum Mask { kNone, kPadding, kFloat, kFullyMaskedRow } mask;
};

std::optional<torch::Tensor> make_mask(const Scenario& s) {
  switch (s.mask) {
    case Scenario::kNone:
      return std::nullopt;
    case Scenario::kPadding: {  // [batch, 1, 1, src]: item 1 ends in 2 padding keys
      auto keep = torch::ones({2, 1, 1, s.src}, torch::kBool);
      keep.index_put_({1, 0, 0, torch::indexing::Slice(s.src - 2)}, false);
      return keep;
    }
    case Scenario::kFloat:  // [tgt, src] additive bias
      return torch::randn({s.tgt, s.src}) * 0.5;
    case Scenario::kFullyMaskedRow: {  // [batch, heads, tgt, src]: item 1, query 1 sees nothing
      auto keep = torch::ones({2, s.heads, s.tgt, s.src}, torch::kBool);
      keep.index_put_({1, torch::indexing::Slice(), 1}, false);
      return keep;
    }
  }
  return std::nullopt;
}

enum class Grad { kEnabled, kNoGrad, kInference };

torch::Tensor run(TwoLayer& model, const torch::Tensor& x, const torch::Tensor& memory,
                  const std::optional<torch::Tensor>& mask, const Scenario& s, Grad grad) {
  switch (grad) {
    case Grad::kEnabled:
      return model(x, memory, mask, s.is_causal, s.scale).detach();
    case Grad::kNoGrad: {
      torch::NoGradGuard no_grad;
      return model(x, memory, mask, s.is_causal, s.scale);
    }
    case Grad::kInference: {
      c10::InferenceMode inference;
      return model(x, memory, mask, s.is_causal, s.scale).clone();
    }
  }
  return {};
}

class SdpaCapture : public testing::TestWithParam<std::tuple<Scenario, Grad>> {};

TEST_P(SdpaCapture, RecordsTheWeightsSdpaUsedAndKeepsOutputs) {
  const auto& [s, grad] = GetParam();
  torch::manual_seed(3);
  TwoLayer model(s.heads, s.kv_heads);
  model->eval();
  const auto x = torch::randn({2, s.tgt, 16});
  const auto memory = s.tgt == s.src ? x : torch::randn({2, s.src, 16});
  const auto mask = make_mask(s);
  const auto plain = run(model, x, memory, mask, s, grad);

  AttentionHooker hooker(model);  // "": both hand-written attention modules
  hooker.setup();
  const auto hooked = run(model, x, memory, mask, s, grad);
  EXPECT_TRUE(hooked.equal(plain)) << "hooks changed the output";
  const auto values = hooker.values();
  ASSERT_EQ(hooker.hooked_names(), (std::vector<std::string>{"first", "second"}));
  for (const char* name : {"first", "second"}) {
    SCOPED_TRACE(name);
    const SdpaAttentionImpl& attn = std::string(name) == "first" ? *model->first : *model->second;
    ASSERT_EQ(values.at(name).size(), 1u);
    const auto weights = values.at(name)[0];  // [batch, heads, tgt, src]
    ASSERT_EQ(weights.sizes(), (std::vector<int64_t>{2, s.heads, s.tgt, s.src}));
    EXPECT_FALSE(weights.requires_grad());
    const auto eager = eager_weights(attn, mask, s.is_causal, s.scale);
    EXPECT_TRUE(torch::allclose(weights.to(torch::kDouble), eager, 0, 1e-6))
        << "max diff " << (weights.to(torch::kDouble) - eager).abs().max().item<double>();
    auto v = attn.v;
    if (s.kv_heads != s.heads) v = v.repeat_interleave(s.heads / s.kv_heads, 1);
    EXPECT_TRUE(torch::allclose(weights.matmul(v), attn.attended, 0, 1e-5)) << "weights · value is SDPA's output";
  }
  hooker.remove_hooks();
  EXPECT_TRUE(run(model, x, memory, mask, s, grad).equal(plain));
  EXPECT_EQ(hooker.values().at("first").size(), 1u) << "nothing recorded after remove_hooks()";
}

const Scenario kScenarios[] = {
    {"Padding", 4, 4, 6, 6, false, std::nullopt, Scenario::kPadding},
    {"FloatMask", 4, 4, 5, 5, false, std::nullopt, Scenario::kFloat},
    {"Causal", 4, 4, 6, 6, true, std::nullopt, Scenario::kNone},
    {"CausalCrossTopLeft", 2, 2, 3, 5, true, std::nullopt, Scenario::kNone},
    {"GroupedQuery", 4, 2, 5, 5, true, std::nullopt, Scenario::kNone},
    {"Scale", 2, 2, 4, 7, false, 0.2, Scenario::kFloat},
    {"FullyMaskedRow", 2, 2, 4, 4, false, std::nullopt, Scenario::kFullyMaskedRow},
};

INSTANTIATE_TEST_SUITE_P(Sdpa, SdpaCapture,
                         testing::Combine(testing::ValuesIn(kScenarios),
                                          testing::Values(Grad::kEnabled, Grad::kNoGrad, Grad::kInference)),
                         [](const auto& info) {
                           const Grad grad = std::get<1>(info.param);
                           return std::string(std::get<0>(info.param).name) +
                                  (grad == Grad::kEnabled ? "_Grad" : grad == Grad::kNoGrad ? "_NoGrad" : "_Inference");
                         });

// A fully masked query row: SDPA's math path (2.5+: _safe_softmax) and its fused kernel
// give that row no weight at all, and the output row is 0; attnhook records zeros, not NaN.
TEST(SdpaSemantics, FullyMaskedRowsAreZeros) {
  torch::manual_seed(5);
  SdpaAttention attn(16, 2, 2);
  attn->eval();
  auto keep = torch::ones({1, 2, 3, 3}, torch::kBool);
  keep.index_put_({0, torch::indexing::Slice(), 2}, false);
  AttentionHooker hooker(attn);
  hooker.setup();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 16});
  attn(x, x, keep, false);
  const auto weights = hooker.values().at("")[0];
  EXPECT_FALSE(weights.isnan().any().item<bool>());
  EXPECT_TRUE(weights.index({0, torch::indexing::Slice(), 2}).eq(0).all().item<bool>());
  EXPECT_TRUE(attn->attended.index({0, torch::indexing::Slice(), 2}).eq(0).all().item<bool>());
  EXPECT_TRUE(torch::allclose(weights.index({0, torch::indexing::Slice(), 0}).sum(-1), torch::ones({2})));
}

// Train mode with dropout: SDPA falls back to its math path, which calls softmax inside
// the SDPA op. The call is recorded once, before dropout: rows sum to 1.
TEST(SdpaSemantics, DropoutMathPathRecordsOncePerCallBeforeDropout) {
  torch::manual_seed(6);
  SdpaAttention attn(16, 2, 2);
  attn->train();
  AttentionHooker hooker(attn);
  hooker.setup();
  const auto x = torch::randn({2, 5, 16});
  attn(x, x, std::nullopt, true, std::nullopt, /*dropout=*/0.5);
  const auto calls = hooker.values().at("");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(torch::allclose(calls[0].sum(-1), torch::ones({2, 2, 5}), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(calls[0].to(torch::kDouble), eager_weights(*attn, std::nullopt, true, std::nullopt), 0, 1e-6));
}

// fp16 and bf16 models: the weights are recomputed in float32 from SDPA's own (low
// precision) q and k and stored in the model's dtype. Tolerances against a float64
// recomputation from the same q and k: half the dtype's resolution near 1 (bf16 2^-8,
// fp16 2^-11), the rounding of the stored weight.
TEST(SdpaSemantics, HalfPrecisionWeightsAgreeWithAFloatRecomputation) {
  for (const auto& [dtype, tolerance] : {std::pair{torch::kBFloat16, 4e-3}, std::pair{torch::kFloat16, 5e-4}}) {
    SCOPED_TRACE(c10::toString(dtype));
    torch::manual_seed(7);
    SdpaAttention attn(16, 4, 2);
    attn->eval();
    attn->to(dtype);
    AttentionHooker hooker(attn);
    hooker.setup();
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({2, 6, 16}).to(dtype);
    attn(x, x, std::nullopt, true);
    const auto weights = hooker.values().at("")[0];
    EXPECT_EQ(weights.scalar_type(), dtype);
    const auto reference = eager_weights(*attn, std::nullopt, true, std::nullopt);
    EXPECT_LE((weights.to(torch::kDouble) - reference).abs().max().item<double>(), tolerance);
  }
}

// A decoder with a key/value cache, generating step by step: the prompt is one call
// with tgt = src (causal), each later step one call with a single query over all keys so
// far — the causal flag is off there, as HF does, since top-left alignment would let the
// new query see key 0 only.
TEST(SdpaSemantics, KeyValueCacheGenerationRecordsEveryStep) {
  torch::manual_seed(8);
  SdpaAttention attn(16, 2, 2);
  attn->eval();
  AttentionHooker hooker(attn);
  hooker.setup();
  torch::NoGradGuard no_grad;
  auto sequence = torch::randn({1, 4, 16});
  torch::Tensor keys, values_cache;
  for (int step = 0; step < 4; ++step) {
    const auto fresh = step == 0 ? sequence : sequence.slice(1, -1);
    const auto q = attn->split(attn->query(fresh), 2);
    auto k = attn->split(attn->key(fresh), 2), v = attn->split(attn->value(fresh), 2);
    keys = step == 0 ? k : torch::cat({keys, k}, 2);
    values_cache = step == 0 ? v : torch::cat({values_cache, v}, 2);
    const auto out = torch::scaled_dot_product_attention(q, keys, values_cache, {}, 0.0, /*is_causal=*/step == 0);
    sequence = torch::cat({sequence, attn->output(out.transpose(1, 2).reshape({1, -1, 16})).slice(1, -1)}, 1);
  }
  const auto calls = hooker.values().at("");
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].sizes(), (std::vector<int64_t>{1, 2, 4, 4}));
  for (int step = 1; step < 4; ++step) EXPECT_EQ(calls[step].sizes(), (std::vector<int64_t>{1, 2, 1, 4 + step}));
  EXPECT_TRUE(calls[0][0][0].triu(1).eq(0).all().item<bool>()) << "the prompt is causal";
  EXPECT_TRUE(calls[3].gt(0).all().item<bool>()) << "a cached step sees every key";
}

// keep_grad: the recomputed weights stay on autograd's tape, so their gradient reaches the
// model's parameters — the same gradient as the same function of the plain-ops weights.
TEST(SdpaSemantics, KeepGradWeightsCarryTheGradientOfAttention) {
  for (const int64_t kv_heads : {4, 2}) {  // plain and grouped-query attention
    SCOPED_TRACE(kv_heads);
    torch::manual_seed(10);
    SdpaAttention attn(16, 4, kv_heads);
    const auto x = torch::randn({2, 5, 16});
    AttentionHooker hooker(attn, HookerOptions().keep_grad(true));
    hooker.setup();
    attn(x, x, std::nullopt, /*is_causal=*/true);
    const auto captured = hooker.values().at("")[0];
    ASSERT_TRUE(captured.requires_grad());
    const auto reference = eager_weights(*attn, std::nullopt, true, std::nullopt);  // from attn->q, attn->k
    EXPECT_TRUE(torch::allclose(captured.to(torch::kDouble), reference.detach(), 0, 1e-6));
    auto objective = [](const torch::Tensor& w) {
      return (w.select(1, 1).to(torch::kDouble) * torch::arange(5.0, torch::kDouble)).sum();
    };
    const auto grad = torch::autograd::grad({objective(captured)}, {attn->query->weight}, {},
                                            /*retain_graph=*/true)[0];  // the reference shares the projections
    const auto expected = torch::autograd::grad({objective(reference)}, {attn->query->weight})[0];
    ASSERT_TRUE(grad.defined());
    EXPECT_GT(grad.abs().sum().item<double>(), 0);
    EXPECT_TRUE(torch::allclose(grad, expected, 1e-4, 1e-6));

    hooker.remove_hooks();  // without keep_grad the same weights are detached
    AttentionHooker detached(attn);
    detached.setup();
    attn(x, x, std::nullopt, true);
    EXPECT_FALSE(detached.values().at("")[0].requires_grad());
  }
}

// Only selected modules record; SDPA outside them records nothing.
TEST(SdpaSemantics, OnlySelectedModulesRecord) {
  torch::manual_seed(9);
  TwoLayer model(2, 2);
  AttentionHooker hooker(model, HookerOptions().layer_regex("^second$"));
  hooker.setup();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 16});
  model(x, x, std::nullopt, false);
  torch::scaled_dot_product_attention(torch::randn({1, 2, 3, 8}), torch::randn({1, 2, 3, 8}), torch::randn({1, 2, 3, 8}));
  const auto values = hooker.values();
  EXPECT_EQ(values.size(), 1u);
  EXPECT_EQ(values.at("second").size(), 1u);
}

#else  // LibTorch 1.x

TEST(SdpaCapture, NeedsLibTorch2) {
  GTEST_SKIP() << "LibTorch " << TORCH_VERSION << " has no scaled_dot_product_attention (added in 2.0)";
}

#endif

}  // namespace
