// Test support: replays torch::nn Transformer forwards step by step and collects
// PyTorch's own per-head weights (need_weights=true, average_attn_weights=false)
// for every attention call, as the independent reference for attnhook's capture.
//
// The replays mirror LibTorch 1.13's module code (torch/csrc/api/src/nn/modules/
// transformer.cpp) op for op, so with the same seed they draw the same dropout masks
// as the model; each replay's output is asserted equal to the model's own output.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace attnhook_test {

struct Reference {
  // Per module name, per call: the weights for the same inputs in eval mode
  // (the softmax, before dropout) — what the hooker must capture.
  std::map<std::string, std::vector<torch::Tensor>> before_dropout;
  // What the call itself returned (after dropout in train mode).
  std::map<std::string, std::vector<torch::Tensor>> returned;
};

// One attention call as the model makes it, recording both references.
inline torch::Tensor attend(torch::nn::MultiheadAttention& mha, const std::string& name,
                            const torch::Tensor& query, const torch::Tensor& key,
                            const torch::Tensor& value, const torch::Tensor& key_padding_mask,
                            const torch::Tensor& attn_mask, Reference& reference) {
  {
    const bool training = mha->is_training();
    torch::NoGradGuard no_grad;
    mha->eval();
    reference.before_dropout[name].push_back(std::get<1>(
        mha->forward(query, key, value, key_padding_mask, true, attn_mask, false)));
    mha->train(training);
  }
  auto [output, weights] = mha->forward(query, key, value, key_padding_mask, true, attn_mask, false);
  reference.returned[name].push_back(weights.detach());
  return output;
}

inline torch::Tensor replay_encoder_layer(torch::nn::TransformerEncoderLayer& layer,
                                          const std::string& name, const torch::Tensor& src,
                                          const torch::Tensor& mask,
                                          const torch::Tensor& key_padding_mask,
                                          Reference& reference) {
  auto attended = attend(layer->self_attn, name + ".self_attn", src, src, src, key_padding_mask,
                         mask, reference);
  auto ret = layer->norm1(src + layer->dropout1(attended));
  auto fed = layer->linear2(layer->dropout(torch::relu(layer->linear1(ret))));
  return layer->norm2(ret + layer->dropout2(fed));
}

inline torch::Tensor replay_decoder_layer(torch::nn::TransformerDecoderLayer& layer,
                                          const std::string& name, torch::Tensor tgt,
                                          const torch::Tensor& memory, const torch::Tensor& tgt_mask,
                                          const torch::Tensor& memory_mask,
                                          const torch::Tensor& tgt_key_padding_mask,
                                          const torch::Tensor& memory_key_padding_mask,
                                          Reference& reference) {
  auto attended = attend(layer->self_attn, name + ".self_attn", tgt, tgt, tgt,
                         tgt_key_padding_mask, tgt_mask, reference);
  tgt = layer->norm1(tgt + layer->dropout1(attended));
  attended = attend(layer->multihead_attn, name + ".multihead_attn", tgt, memory, memory,
                    memory_key_padding_mask, memory_mask, reference);
  tgt = layer->norm2(tgt + layer->dropout2(attended));
  auto fed = layer->linear2(layer->dropout(torch::relu(layer->linear1(tgt))));
  return layer->norm3(tgt + layer->dropout3(fed));
}

inline torch::Tensor replay_encoder(torch::nn::TransformerEncoderImpl& encoder,
                                    const std::string& prefix, torch::Tensor x,
                                    const torch::Tensor& mask, const torch::Tensor& key_padding_mask,
                                    Reference& reference) {
  for (size_t i = 0; i < encoder.layers->size(); ++i) {
    auto layer = torch::nn::TransformerEncoderLayer(
        encoder.layers->ptr<torch::nn::TransformerEncoderLayerImpl>(i));
    x = replay_encoder_layer(layer, prefix + "layers." + std::to_string(i), x, mask,
                             key_padding_mask, reference);
  }
  if (!encoder.norm.is_empty()) x = encoder.norm.forward<torch::Tensor>(x);
  return x;
}

inline torch::Tensor replay_decoder(torch::nn::TransformerDecoderImpl& decoder,
                                    const std::string& prefix, torch::Tensor x,
                                    const torch::Tensor& memory, const torch::Tensor& tgt_mask,
                                    const torch::Tensor& memory_mask,
                                    const torch::Tensor& tgt_key_padding_mask,
                                    const torch::Tensor& memory_key_padding_mask,
                                    Reference& reference) {
  for (size_t i = 0; i < decoder.layers->size(); ++i) {
    auto layer = torch::nn::TransformerDecoderLayer(
        decoder.layers->ptr<torch::nn::TransformerDecoderLayerImpl>(i));
    x = replay_decoder_layer(layer, prefix + "layers." + std::to_string(i), x, memory, tgt_mask,
                             memory_mask, tgt_key_padding_mask, memory_key_padding_mask,
                             reference);
  }
  if (!decoder.norm.is_empty()) x = decoder.norm.forward<torch::Tensor>(x);
  return x;
}

}  // namespace attnhook_test
