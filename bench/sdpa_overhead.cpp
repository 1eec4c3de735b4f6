// Benchmark (prints figures, asserts nothing): SDPA capture on a BERT-base-sized
// torch::nn encoder whose attention calls torch::scaled_dot_product_attention (12
// layers, d_model 768, 12 heads, ff 3072, batch 1, eval, NoGradGuard), at seq 128 and
// seq 1024. Variants, interleaved per round (order rotating), medians:
//
//   unhooked   SDPA's fused kernel, no hooker
//   hooked     the same, every layer captured (weights recomputed from SDPA's inputs)
//   paused     a hooker set up on the model, then remove_hooks()
//   eager      the field's workaround: the model switched to eager attention
//              (softmax(q kᵀ / √d) · v written out), which materialises the weights
//   eager_kept the same, keeping every layer's weights as output_attentions=True does
//              (what the workaround is for; the fair comparison with hooked)
//
// Memory: the bytes each captured call keeps (the recorded tensor's storage) against the
// size of the weights themselves, [1, 12, seq, seq] float32.
// Usage: sdpa_overhead [rounds=5]
#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <cstdio>

#include "attnhook/attnhook.h"
#include "timing.h"

namespace {

using attnhook_bench::median;
using attnhook_bench::time_ms;

struct SdpaLayerImpl : torch::nn::Module {
  SdpaLayerImpl(int64_t dim, int64_t heads) : heads(heads) {
    query = register_module("query", torch::nn::Linear(dim, dim));
    key = register_module("key", torch::nn::Linear(dim, dim));
    value = register_module("value", torch::nn::Linear(dim, dim));
    output = register_module("output", torch::nn::Linear(dim, dim));
    up = register_module("up", torch::nn::Linear(dim, 4 * dim));
    down = register_module("down", torch::nn::Linear(4 * dim, dim));
    norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  }
  torch::Tensor forward(const torch::Tensor& x) {  // [batch, seq, dim]
    const int64_t batch = x.size(0), seq = x.size(1), dim = x.size(2);
    auto split = [&](const torch::Tensor& t) {
      return t.view({batch, seq, heads, dim / heads}).transpose(1, 2);
    };
    const auto q = split(query(x)), k = split(key(x)), v = split(value(x));
    torch::Tensor attended;
    if (eager) {
      const auto weights =
          torch::softmax(q.matmul(k.transpose(-2, -1)) / std::sqrt(double(dim / heads)), -1);
      attended = weights.matmul(v);
      if (kept != nullptr) kept->push_back(weights);
    } else {
      attended = torch::scaled_dot_product_attention(q, k, v);
    }
    auto h = norm1(x + output(attended.transpose(1, 2).reshape({batch, seq, dim})));
    return norm2(h + down(torch::gelu(up(h))));
  }
  int64_t heads;
  bool eager = false;
  std::vector<torch::Tensor>* kept = nullptr;  // eager: where the weights go, if anywhere
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, output{nullptr}, up{nullptr},
      down{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
};
TORCH_MODULE(SdpaLayer);

struct SdpaEncoderImpl : torch::nn::Module {
  SdpaEncoderImpl() {
    layers = register_module("layers", torch::nn::ModuleList());
    for (int i = 0; i < 12; ++i) layers->push_back(SdpaLayer(768, 12));
  }
  torch::Tensor forward(torch::Tensor x) {
    for (const auto& layer : *layers) x = layer->as<SdpaLayerImpl>()->forward(x);
    return x;
  }
  void set_eager(bool eager, std::vector<torch::Tensor>* kept = nullptr) {
    for (const auto& layer : *layers) {
      layer->as<SdpaLayerImpl>()->eager = eager;
      layer->as<SdpaLayerImpl>()->kept = kept;
    }
  }
  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(SdpaEncoder);

struct Figures {
  double unhooked, hooked, paused, eager, eager_kept, kept_bytes_per_call, weights_bytes;
};

Figures measure(SdpaEncoder& encoder, int64_t seq, int rounds) {
  const auto x = torch::randn({1, seq, 768});
  attnhook::AttentionHooker hooker(encoder);
  attnhook::AttentionHooker paused(encoder);
  paused.setup();
  paused.remove_hooks();
  auto forward = [&] { encoder->forward(x); };
  forward();  // warm-up
  std::vector<double> unhooked_ms, hooked_ms, paused_ms, eager_ms, eager_kept_ms;
  double kept_bytes = 0;
  for (int round = 0; round < rounds; ++round) {
    for (int k = 0; k < 5; ++k) {
      switch ((round + k) % 5) {
        case 0:
          unhooked_ms.push_back(time_ms(forward));
          break;
        case 1: {
          hooker.setup();
          hooked_ms.push_back(time_ms(forward));
          hooker.remove_hooks();
          const auto values = hooker.values();
          double bytes = 0;
          size_t calls = 0;
          for (const auto& [name, recorded] : values) {
            for (const auto& w : recorded) bytes += static_cast<double>(w.storage().nbytes());
            calls += recorded.size();
          }
          if (calls != 12)
            std::fprintf(stderr, "sdpa_overhead: %zu calls captured, 12 expected\n", calls);
          kept_bytes = bytes / static_cast<double>(calls);
          hooker.clear();
          break;
        }
        case 2:
          paused_ms.push_back(time_ms(forward));
          break;
        case 3:
          encoder->set_eager(true);
          eager_ms.push_back(time_ms(forward));
          encoder->set_eager(false);
          break;
        case 4: {
          std::vector<torch::Tensor> weights;
          encoder->set_eager(true, &weights);
          eager_kept_ms.push_back(time_ms(forward));
          encoder->set_eager(false);
          break;  // the weights are freed here, outside the timed region
        }
      }
    }
  }
  return {median(unhooked_ms),
          median(hooked_ms),
          median(paused_ms),
          median(eager_ms),
          median(eager_kept_ms),
          kept_bytes,
          12.0 * static_cast<double>(seq * seq) * sizeof(float)};
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(3, std::atoi(argv[1])) : 5;
  torch::manual_seed(0);
  SdpaEncoder encoder;
  encoder->eval();
  torch::NoGradGuard no_grad;
  for (const int64_t seq : {128, 1024}) {
    const Figures f = measure(encoder, seq, rounds);
    std::printf(
        "{\"bench\": \"sdpa_overhead\", \"libtorch\": \"%s\", \"model\": \"SDPA encoder 12x768, 12 "
        "heads, ff 3072, "
        "batch 1, eval, no_grad\", \"seq\": %lld, \"rounds\": %d, \"threads\": %d, "
        "\"unhooked_ms\": %.1f, "
        "\"hooked_ms\": %.1f, \"paused_ms\": %.1f, \"eager_attention_ms\": %.1f, "
        "\"eager_kept_ms\": %.1f, "
        "\"hooked_over_unhooked\": %.3f, \"hooked_over_eager\": %.3f, \"hooked_over_eager_kept\": "
        "%.3f, "
        "\"paused_over_unhooked\": %.3f, \"kept_bytes_per_call\": %.0f, "
        "\"weights_bytes_per_call\": %.0f}\n",
        TORCH_VERSION, static_cast<long long>(seq), rounds, at::get_num_threads(), f.unhooked,
        f.hooked, f.paused, f.eager, f.eager_kept, f.hooked / f.unhooked, f.hooked / f.eager,
        f.hooked / f.eager_kept, f.paused / f.unhooked, f.kept_bytes_per_call, f.weights_bytes);
  }
  return 0;
}
