// Benchmark (prints figures, asserts nothing): what hooking costs a BERT-base-sized
// torch::nn encoder (12 layers, d_model 768, 12 heads, ff 3072, seq 128, batch 1,
// eval, NoGradGuard), and what rendering one layer's grid costs.
//
//   plain              no hooker installed
//   hooked             a hooker capturing every layer's attention
//   selecting_nothing  a hooker installed on another model (the observer sees every
//                      op of this one and attributes none: its cost alone)
//
// Runs are interleaved (one sample of each per round, order rotating; a sample is the
// mean of 3 forwards) so drift affects all three alike; the figures are medians.
// observer_us_per_op is the observer's own cost per ATen op, from 200,000 tiny additions with and without the hooker installed (a
// steadier figure than the forward ratios, which move by ~2% run to run on a shared
// VM); observer_ms_per_forward multiplies it by the ops of one forward.
// Usage: capture_overhead [rounds=15]
#include <ATen/record_function.h>
#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "timing.h"
#include "attnhook/attnhook.h"
#include "attnhook/render.h"

namespace {

using attnhook_bench::median;
using attnhook_bench::median_ratio;
using attnhook_bench::time_ms;

std::atomic<int64_t> op_count{0};
std::unique_ptr<at::ObserverContext> count_op(const at::RecordFunction&) {
  op_count.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(10, std::atoi(argv[1])) : 15;
  torch::manual_seed(0);
  torch::nn::TransformerEncoder encoder(torch::nn::TransformerEncoderOptions(
      torch::nn::TransformerEncoderLayerOptions(768, 12).dim_feedforward(3072), 12));
  encoder->eval();
  const auto x = torch::randn({128, 1, 768});  // [seq, batch, d_model]
  torch::NoGradGuard no_grad;
  auto forward = [&] { encoder->forward(x); };
  // One sample = 3 forwards back to back, so hook installation is far from the timed ops.
  auto sample = [&] {
    for (int i = 0; i < 3; ++i) forward();
  };

  attnhook::AttentionHooker hooked(encoder);
  torch::nn::MultiheadAttention elsewhere(torch::nn::MultiheadAttentionOptions(8, 2));
  attnhook::AttentionHooker nothing(elsewhere);

  // Observed ops per forward, counted by a bare observer of the same scope.
  {
    auto handle = at::addGlobalCallback(
        at::RecordFunctionCallback(count_op).scopes({at::RecordScope::FUNCTION}));
    forward();
    at::removeCallback(handle);
  }

  // Per observed op: tiny additions, which cost little besides the observer.
  constexpr int kTinyOps = 200000;
  const auto a = torch::ones({4}), b = torch::ones({4});
  auto tiny_ops = [&] {
    for (int i = 0; i < kTinyOps; ++i) at::add(a, b);
  };
  std::vector<double> tiny_plain_us, tiny_hooked_us;
  for (int round = 0; round < 7; ++round) {
    tiny_plain_us.push_back(time_ms(tiny_ops) * 1000 / kTinyOps);
    hooked.setup();
    tiny_hooked_us.push_back(time_ms(tiny_ops) * 1000 / kTinyOps);
    hooked.remove_hooks();
  }
  const double per_op_us = median(tiny_hooked_us) - median(tiny_plain_us);

  for (int i = 0; i < 3; ++i) forward();  // warm-up
  std::vector<double> plain_ms, hooked_ms, nothing_ms;
  for (int round = 0; round < rounds; ++round) {
    for (int k = 0; k < 3; ++k) {
      switch ((round + k) % 3) {
        case 0:
          plain_ms.push_back(time_ms(sample) / 3);
          break;
        case 1:
          hooked.setup();
          hooked_ms.push_back(time_ms(sample) / 3);
          hooked.remove_hooks();
          if (hooked.values().at("layers.11.self_attn").size() != 3) {
            std::fprintf(stderr, "capture_overhead: hooked run captured nothing\n");
            return 1;
          }
          hooked.clear();
          break;
        case 2:
          nothing.setup();
          nothing_ms.push_back(time_ms(sample) / 3);
          nothing.remove_hooks();
          break;
      }
    }
  }

  // One layer's grid: 12 heads x 128 tokens with labels.
  hooked.setup();
  forward();
  hooked.remove_hooks();
  const auto weights = hooked.values().at("layers.0.self_attn")[0];
  std::vector<std::string> tokens;
  for (int i = 0; i < 128; ++i) tokens.push_back(fmt::format("tok{}", i));
  const auto png = std::filesystem::temp_directory_path() / "attnhook_bench_grid.png";
  std::vector<double> grid_ms;
  for (int i = 0; i < 7; ++i) {
    grid_ms.push_back(time_ms([&] {
      attnhook::save_attention_grid(weights, png.string(),
                                    attnhook::GridOptions().tokens(tokens).title("layers.0.self_attn"));
    }));
  }
  std::filesystem::remove(png);

  const double plain = median(plain_ms), hook = median(hooked_ms), none = median(nothing_ms);
  std::printf(
      "{\"bench\": \"capture_overhead\", \"libtorch\": \"%s\", \"model\": \"encoder 12x768, 12 heads, ff 3072, seq 128, batch 1, "
      "eval, no_grad\", \"rounds\": %d, \"threads\": %d, \"observed_ops_per_forward\": %lld, "
      "\"plain_ms\": %.2f, \"hooked_ms\": %.2f, \"selecting_nothing_ms\": %.2f, "
      "\"hooked_over_plain\": %.4f, \"hooked_over_plain_iqr\": %.4f, \"selecting_nothing_over_plain\": %.4f, "
      "\"observer_us_per_op\": %.3f, \"observer_ms_per_forward\": %.2f, "
      "\"grid_12_heads_128_tokens_ms\": %.1f}\n",
      TORCH_VERSION, rounds, at::get_num_threads(), static_cast<long long>(op_count.load()), plain, hook, none,
      median_ratio(hooked_ms, plain_ms), attnhook_bench::ratio_iqr(hooked_ms, plain_ms),
      median_ratio(nothing_ms, plain_ms), per_op_us, per_op_us * op_count.load() / 1000, median(grid_ms));
  return 0;
}
