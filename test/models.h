// Test support: small hand-written models shared by the tests.
#pragma once

#include <cmath>
#include <vector>

#include <torch/torch.h>

namespace attnhook_test {

// BERT-style hand-written attention: Linear q/k/v/o, softmax(q k^T / sqrt(d)).
// It logs its own softmax outputs, the reference for what the hooker captures.
struct SelfAttentionImpl : torch::nn::Module {
  SelfAttentionImpl(int64_t dim, int64_t heads) : heads(heads) {
    query = register_module("query", torch::nn::Linear(dim, dim));
    key = register_module("key", torch::nn::Linear(dim, dim));
    value = register_module("value", torch::nn::Linear(dim, dim));
    output = register_module("output", torch::nn::Linear(dim, dim));
  }
  // x: [batch, len, dim]
  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0), len = x.size(1), dim = x.size(2);
    auto split = [&](const torch::Tensor& t) {  // -> [batch, heads, len, dim / heads]
      return t.view({batch, len, heads, dim / heads}).transpose(1, 2);
    };
    auto scores = split(query(x)).matmul(split(key(x)).transpose(-2, -1)) /
                  std::sqrt(static_cast<double>(dim / heads));
    auto probs = torch::softmax(scores, -1);  // [batch, heads, len, len]
    log.push_back(probs.detach().clone());
    auto context = probs.matmul(split(value(x))).transpose(1, 2).reshape({batch, len, dim});
    return output(context);
  }
  int64_t heads;
  std::vector<torch::Tensor> log;
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, output{nullptr};
};
TORCH_MODULE(SelfAttention);

struct TinyBertLayerImpl : torch::nn::Module {
  TinyBertLayerImpl(int64_t dim, int64_t heads) {
    attention = register_module("attention", SelfAttention(dim, heads));
    feed_forward = register_module("feed_forward", torch::nn::Linear(dim, dim));
  }
  torch::Tensor forward(const torch::Tensor& x) { return feed_forward(x + attention(x)); }
  SelfAttention attention{nullptr};
  torch::nn::Linear feed_forward{nullptr};
};
TORCH_MODULE(TinyBertLayer);

// Two hand-written attention layers and a classifier whose softmax is not attention.
struct TinyBertImpl : torch::nn::Module {
  TinyBertImpl(int64_t dim = 16, int64_t heads = 4) {
    layers = register_module("layers", torch::nn::ModuleList(TinyBertLayer(dim, heads), TinyBertLayer(dim, heads)));
    classifier = register_module("classifier", torch::nn::Linear(dim, 3));
  }
  torch::Tensor forward(torch::Tensor x) {  // [batch, len, dim] -> [batch, len, 3]
    for (const auto& layer : *layers) x = layer->as<TinyBertLayerImpl>()->forward(x);
    return torch::softmax(classifier(x), -1);
  }
  SelfAttentionImpl& attention(size_t layer) { return *layers->ptr<TinyBertLayerImpl>(layer)->attention; }
  torch::nn::ModuleList layers{nullptr};
  torch::nn::Linear classifier{nullptr};
};
TORCH_MODULE(TinyBert);

inline torch::nn::TransformerEncoder make_encoder(int64_t layers, int64_t dim = 16, int64_t heads = 4) {
  return torch::nn::TransformerEncoder(torch::nn::TransformerEncoderOptions(
      torch::nn::TransformerEncoderLayerOptions(dim, heads).dim_feedforward(2 * dim).dropout(0.0), layers));
}

// Per-head weights of layer `index` of `encoder`, computed by PyTorch for input x
// ([len, batch, dim]), by running the layers before it.
inline torch::Tensor encoder_reference(torch::nn::TransformerEncoder& encoder, size_t index,
                                       torch::Tensor x) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < index; ++i) x = encoder->layers->ptr<torch::nn::TransformerEncoderLayerImpl>(i)->forward(x);
  auto& attn = encoder->layers->ptr<torch::nn::TransformerEncoderLayerImpl>(index)->self_attn;
  return std::get<1>(attn->forward(x, x, x, {}, true, {}, false));
}

}  // namespace attnhook_test
