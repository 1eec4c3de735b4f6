// Benchmark (prints figures, asserts nothing): what rendering costs, to a PNG on disk.
//
//   grid_12x128             save_attention_grid, 12 heads x 128 tokens, token labels
//   model_view_12x12x128    save_model_view, 12 layers x 12 heads x 128 tokens
//   cli_plot_all_heads      `attnhook plot -i <json> --layer 0 --head all -o out.png`
//   cli_model_view          `attnhook model-view -i <json> -o model.png`
//
// The CLI figures are end to end (fork, exec, load the JSON, render, write) and only
// measured when the CLI binary is given (otherwise null), on attn.json files this program
// writes with save_json: one layer of 12 heads x 128 tokens for plot, 12 such layers for
// model-view. cli_startup is `attnhook --help`: the process start (the tool does not link
// LibTorch; a process that does spends ~0.5 s before main). Every figure is the median of `runs` runs after one warm-up run.
// Usage: render [path/to/attnhook] [runs=7]
// Prints one JSON line, e.g.
//   {"bench":"render", "grid_12x128_ms":48.1, "model_view_12x12x128_ms":80.4,
//    "cli_startup_ms":null, "cli_plot_all_heads_ms":null, "cli_model_view_ms":null}
#include "timing.h"
#include "attnhook/render.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attnhook/export.h"
#include "attnhook/values.h"

namespace {

using attnhook_bench::median;
using attnhook_bench::time_ms;

namespace fs = std::filesystem;

// Median of `runs` timed runs after one warm-up run (font decoding, page faults).
double median_ms(int runs, const std::function<void()>& work) {
  work();
  std::vector<double> times;
  for (int r = 0; r < runs; ++r) times.push_back(time_ms(work));
  return median(times);
}

// Softmax attention with some structure, like a trained model's: [1, heads, seq, seq].
torch::Tensor attention(int64_t heads, int64_t seq, int seed) {
  torch::manual_seed(seed);
  auto logits = torch::randn({1, heads, seq, seq}) * 2;
  logits.diagonal(0, 2, 3).add_(4);
  logits.select(3, 0).add_(3);
  return torch::softmax(logits, -1);
}

// Runs argv to completion, stdout discarded; true when it exits with status 0.
// posix_spawn, not fork: forking this LibTorch-sized process would be timed too.
bool run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int error = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error) return false;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Median end-to-end time of a CLI command, or none when it fails.
std::optional<double> time_command(int runs, const std::vector<std::string>& args) {
  bool failed = false;
  const double ms = median_ms(runs, [&] { failed = failed || !run(args); });
  if (!failed) return ms;
  std::string line;
  for (const auto& a : args) line += a + " ";
  std::fprintf(stderr, "render: command failed, not timed: %s\n", line.c_str());
  return std::nullopt;
}

std::string json_number(std::optional<double> value) {
  return value ? fmt::format("{:.1f}", *value) : "null";
}

}  // namespace

int main(int argc, char** argv) {
  const bool with_cli = argc >= 2 && std::atoi(argv[1]) == 0;
  const int runs = std::max(5, argc > (with_cli ? 2 : 1) ? std::atoi(argv[with_cli ? 2 : 1]) : 7);
  const fs::path dir =
      fs::temp_directory_path() / fmt::format("attnhook_bench_render_{}", ::getpid());
  fs::create_directories(dir);
  torch::NoGradGuard no_grad;

  std::vector<std::string> tokens;
  for (int i = 0; i < 128; ++i) tokens.push_back(fmt::format("token{}", i));
  const torch::Tensor layer = attention(12, 128, 0);
  const auto grid_options = attnhook::GridOptions().tokens(tokens).title("layers.0.self_attn");
  const double grid_ms = median_ms(runs, [&] {
    attnhook::save_attention_grid(layer, (dir / "grid.png").string(), grid_options);
  });

  attnhook::Values values;
  for (int l = 0; l < 12; ++l)
    values.append(fmt::format("layers.{}.self_attn", l), {attention(12, 128, l)});
  const double model_view_ms =
      median_ms(runs, [&] { attnhook::save_model_view(values, (dir / "model.png").string()); });

  std::optional<double> cli_startup_ms, cli_plot_ms, cli_model_view_ms;
  if (with_cli) {
    const std::string cli = argv[1];
    attnhook::AttentionFile one_layer, twelve_layers;
    one_layer.tokens = twelve_layers.tokens = tokens;
    one_layer.values.append("layers.0.self_attn", {layer});
    twelve_layers.values = values;
    attnhook::save_json(one_layer, (dir / "layer.json").string());
    attnhook::save_json(twelve_layers, (dir / "model.json").string());
    cli_startup_ms = time_command(runs, {cli, "--help"});
    cli_plot_ms = time_command(runs, {cli, "plot", "-i", (dir / "layer.json").string(), "--layer", "0", "--head",
                                      "all", "-o", (dir / "cli_plot.png").string()});
    cli_model_view_ms = time_command(
        runs, {cli, "model-view", "-i", (dir / "model.json").string(), "-o", (dir / "cli_model.png").string()});
  }
  fs::remove_all(dir);

  fmt::print(
      "{{\"bench\":\"render\", \"grid_12x128_ms\":{:.1f}, \"model_view_12x12x128_ms\":{:.1f}, "
      "\"cli_startup_ms\":{}, \"cli_plot_all_heads_ms\":{}, \"cli_model_view_ms\":{}}}\n",
      grid_ms, model_view_ms, json_number(cli_startup_ms), json_number(cli_plot_ms), json_number(cli_model_view_ms));
}
