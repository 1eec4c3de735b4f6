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

namespace attnhook_test {

// HF's BERT module tree in C++ (transformers' BertModel, same names), hand-written
// attention in BertSelfAttention — the shape of test/fixtures/torch2.13/hf_bert, whose
// root wraps the model as `model`. attention.self computes the softmax; attention (its
// parent) and attention.output do not.
namespace hf {

struct BertSelfAttentionImpl : torch::nn::Module {
  BertSelfAttentionImpl(int64_t dim, int64_t heads) : heads(heads) {
    query = register_module("query", torch::nn::Linear(dim, dim));
    key = register_module("key", torch::nn::Linear(dim, dim));
    value = register_module("value", torch::nn::Linear(dim, dim));
    dropout = register_module("dropout", torch::nn::Dropout(0.0));
  }
  torch::Tensor forward(const torch::Tensor& x) {  // [batch, len, dim]
    const int64_t batch = x.size(0), len = x.size(1), dim = x.size(2);
    auto split = [&](const torch::Tensor& t) { return t.view({batch, len, heads, dim / heads}).transpose(1, 2); };
    auto probs = torch::softmax(split(query(x)).matmul(split(key(x)).transpose(-2, -1)) /
                                    std::sqrt(static_cast<double>(dim / heads)), -1);
    return dropout(probs).matmul(split(value(x))).transpose(1, 2).reshape({batch, len, dim});
  }
  int64_t heads;
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertSelfAttention);

// dense + LayerNorm + dropout: BertSelfOutput and BertOutput.
struct DenseNormImpl : torch::nn::Module {
  DenseNormImpl(int64_t in, int64_t out) {
    dense = register_module("dense", torch::nn::Linear(in, out));
    LayerNorm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({out})));
    dropout = register_module("dropout", torch::nn::Dropout(0.0));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual) {
    return LayerNorm(dropout(dense(x)) + residual);
  }
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(DenseNorm);

struct BertAttentionImpl : torch::nn::Module {
  BertAttentionImpl(int64_t dim, int64_t heads) {
    self = register_module("self", BertSelfAttention(dim, heads));
    output = register_module("output", DenseNorm(dim, dim));
  }
  torch::Tensor forward(const torch::Tensor& x) { return output(self(x), x); }
  BertSelfAttention self{nullptr};
  DenseNorm output{nullptr};
};
TORCH_MODULE(BertAttention);

struct BertIntermediateImpl : torch::nn::Module {
  BertIntermediateImpl(int64_t dim, int64_t hidden) { dense = register_module("dense", torch::nn::Linear(dim, hidden)); }
  torch::Tensor forward(const torch::Tensor& x) { return torch::gelu(dense(x)); }
  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(BertIntermediate);

struct BertLayerImpl : torch::nn::Module {
  BertLayerImpl(int64_t dim, int64_t heads) {
    attention = register_module("attention", BertAttention(dim, heads));
    intermediate = register_module("intermediate", BertIntermediate(dim, 2 * dim));
    output = register_module("output", DenseNorm(2 * dim, dim));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    const auto attended = attention(x);
    return output(intermediate(attended), attended);
  }
  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  DenseNorm output{nullptr};
};
TORCH_MODULE(BertLayer);

struct BertModelImpl : torch::nn::Module {
  BertModelImpl(int64_t vocab, int64_t dim, int64_t heads, int64_t layers) {
    auto embeddings_module = std::make_shared<torch::nn::Module>("BertEmbeddings");
    word_embeddings = embeddings_module->register_module("word_embeddings", torch::nn::Embedding(vocab, dim));
    embeddings_module->register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    embeddings = register_module("embeddings", embeddings_module);
    auto encoder_module = std::make_shared<torch::nn::Module>("BertEncoder");
    layer = encoder_module->register_module("layer", torch::nn::ModuleList());
    for (int64_t i = 0; i < layers; ++i) layer->push_back(BertLayer(dim, heads));
    encoder = register_module("encoder", encoder_module);
  }
  torch::Tensor forward(const torch::Tensor& ids) {
    auto x = word_embeddings(ids);
    for (const auto& module : *layer) x = module->as<BertLayerImpl>()->forward(x);
    return x;
  }
  std::shared_ptr<torch::nn::Module> embeddings, encoder;
  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(BertModel);

struct IdsWrapperImpl : torch::nn::Module {
  IdsWrapperImpl() { model = register_module("model", BertModel(100, 16, 4, 2)); }
  torch::Tensor forward(const torch::Tensor& ids) { return model(ids); }
  BertModel model{nullptr};
};
TORCH_MODULE(IdsWrapper);

}  // namespace hf
}  // namespace attnhook_test
