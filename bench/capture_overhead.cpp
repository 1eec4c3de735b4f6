// Benchmark (prints figures, asserts nothing): what hooking costs a BERT-base-sized
// torch::nn encoder (12 layers, d_model 768, 12 heads, ff 3072, seq 128, batch 1,
// eval, NoGradGuard), and what rendering one layer's grid costs.
//
//   plain              no hooker installed
//   hooked             a hooker capturing every layer's attention
//   selecting_nothing  a hooker installed on modules that compute no attention
//                      (the observer's cost alone)
//
// Runs are interleaved (one of each per round, order rotating) so drift affects all
// three alike; the figures are medians. Usage: capture_overhead [rounds=15]
#include <ATen/record_function.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "attnhook/attnhook.h"
#include "attnhook/render.h"

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double time_ms(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

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

  attnhook::AttentionHooker hooked(encoder);
  attnhook::AttentionHooker nothing(encoder, attnhook::HookerOptions().layer_regex(R"(norm1$)"));

  // Observed ops per forward, counted by a bare observer of the same scope.
  {
    auto handle = at::addGlobalCallback(
        at::RecordFunctionCallback(count_op).scopes({at::RecordScope::FUNCTION}));
    forward();
    at::removeCallback(handle);
  }

  for (int i = 0; i < 3; ++i) forward();  // warm-up
  std::vector<double> plain_ms, hooked_ms, nothing_ms;
  for (int round = 0; round < rounds; ++round) {
    for (int k = 0; k < 3; ++k) {
      switch ((round + k) % 3) {
        case 0:
          plain_ms.push_back(time_ms(forward));
          break;
        case 1:
          hooked.setup();
          hooked_ms.push_back(time_ms(forward));
          hooked.remove_hooks();
          if (hooked.values().at("layers.11.self_attn").size() != 1) {
            std::fprintf(stderr, "capture_overhead: hooked run captured nothing\n");
            return 1;
          }
          hooked.clear();
          break;
        case 2:
          nothing.setup();
          nothing_ms.push_back(time_ms(forward));
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
      "{\"bench\": \"capture_overhead\", \"model\": \"encoder 12x768, 12 heads, ff 3072, seq 128, batch 1, "
      "eval, no_grad\", \"rounds\": %d, \"threads\": %d, \"observed_ops_per_forward\": %lld, "
      "\"plain_ms\": %.2f, \"hooked_ms\": %.2f, \"selecting_nothing_ms\": %.2f, "
      "\"hooked_over_plain\": %.4f, \"selecting_nothing_over_plain\": %.4f, "
      "\"grid_12_heads_128_tokens_ms\": %.1f}\n",
      rounds, at::get_num_threads(), static_cast<long long>(op_count.load()), plain, hook, none,
      hook / plain, none / plain, median(grid_ms));
  return 0;
}
