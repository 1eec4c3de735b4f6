// Built against an installed attnhook: hooks a one-layer encoder and prints what
// it captured, so the package test checks linking and running, not only finding.
#include <attnhook/attnhook.h>
#include <torch/torch.h>

#include <iostream>

int main() {
  torch::nn::TransformerEncoderLayer layer(torch::nn::TransformerEncoderLayerOptions(8, 2));
  attnhook::AttentionHooker hooker(layer);
  hooker.setup();
  layer->forward(torch::randn({4, 1, 8}));
  const at::Tensor weights = hooker.values().at("self_attn").at(0);  // values() is a snapshot: keep a copy
  std::cout << "captured " << weights.sizes() << "\n";
  return weights.sizes() == torch::IntArrayRef({1, 2, 4, 4}) ? 0 : 1;
}
