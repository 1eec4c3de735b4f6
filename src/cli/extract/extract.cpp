// attnhook extract: load a TorchScript model, run it once per input, save every call.
// Built as the plugin attnhook-extract.so: the `attnhook` executable loads it (and with it
// LibTorch) only for this subcommand, so the drawing subcommands start in milliseconds.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/script.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "atomic_file.h"
#include "attnhook/attnhook.h"
#include "commands.h"

namespace attnhook::cli {
namespace {

at::Tensor parse_ids(const std::string& text, const std::string& where) {
  std::vector<int64_t> ids;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const auto begin = item.find_first_not_of(" \t\r");
    const auto end = item.find_last_not_of(" \t\r");
    const std::string trimmed = begin == std::string::npos ? "" : item.substr(begin, end - begin + 1);
    const std::optional<int64_t> id = parse_integer(trimmed);
    if (!id) throw Error(fmt::format("{}: '{}' is not an integer token id", where, trimmed));
    ids.push_back(*id);
  }
  if (ids.empty()) throw Error(fmt::format("{}: no token ids", where));
  return torch::tensor(ids, torch::kLong).unsqueeze(0);  // [1, len]
}

at::Tensor load_tensor(const std::string& path) {
  const std::string bytes = detail::read_file(path, "input tensor");
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    throw Error(fmt::format("input tensor '{}' is not a torch.save'd tensor: {}", path, e.what_without_backtrace()));
  }
  if (!value.isTensor()) throw Error(fmt::format("input tensor '{}' holds a {}, not a tensor", path, value.tagKind()));
  return value.toTensor();
}

std::vector<std::string> read_tokens(const ExtractArgs& args) {
  std::vector<std::string> tokens;
  if (!args.tokens_file.empty()) {
    std::stringstream lines(detail::read_file(args.tokens_file, "tokens file"));
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      tokens.push_back(line);
    }
  } else {
    std::stringstream words(args.tokens);
    for (std::string word; words >> word;) tokens.push_back(word);
  }
  return tokens;
}

std::string numbered(const std::string& output, size_t index) {
  const std::filesystem::path path(output);
  return (path.parent_path() / fmt::format("{}.{}{}", path.stem().string(), index, path.extension().string())).string();
}

void save(const AttentionFile& file, const std::string& path, const std::string& schema) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npz") == 0) return save_npz(file, path);
  save_json(file, path, schema == "flat" ? JsonSchema::kFlat : JsonSchema::kAttnhook);
}

// Drawn only when stderr is a terminal: "[#####.....] 5/10".
void progress(size_t done, size_t total) {
  if (!::isatty(STDERR_FILENO)) return;
  const size_t width = 30, filled = total ? done * width / total : width;
  fmt::print(stderr, "\r[{}{}] {}/{}{}", std::string(filled, '#'), std::string(width - filled, '.'), done, total,
             done == total ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace

void run_extract(const ExtractArgs& args) {
  const std::string extension = std::filesystem::path(args.output).extension().string();
  if (extension != ".json" && extension != ".npz") {
    throw Error(fmt::format("-o '{}': the output must end in .json or .npz", args.output));
  }
  if (args.schema != "attnhook" && args.schema != "flat") {
    throw Error(fmt::format("--schema '{}': expected attnhook or flat", args.schema));
  }
  torch::Device device(torch::kCPU);
  if (args.device == "cuda") {
    if (!torch::cuda::is_available()) throw Error("--device cuda: CUDA is not available to this LibTorch");
    device = torch::Device(torch::kCUDA);
  } else if (args.device != "cpu") {
    throw Error(fmt::format("--device '{}': expected cpu or cuda", args.device));
  }

  // Each input is the list of forward() arguments.
  std::vector<std::vector<at::Tensor>> inputs;
  if (!args.inputs_file.empty()) {
    std::stringstream lines(detail::read_file(args.inputs_file, "inputs file"));
    size_t number = 0;
    for (std::string line; std::getline(lines, line);) {
      ++number;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      inputs.push_back({parse_ids(line, fmt::format("--inputs-file '{}', line {}", args.inputs_file, number))});
    }
    if (inputs.empty()) throw Error(fmt::format("--inputs-file '{}' holds no ids", args.inputs_file));
  } else if (!args.ids.empty()) {
    inputs.push_back({parse_ids(args.ids, "--ids")});
  } else {
    std::vector<at::Tensor> tensors;
    for (const auto& path : args.input_tensors) tensors.push_back(load_tensor(path));
    inputs.push_back(tensors);
  }
  const std::vector<std::string> tokens = read_tokens(args);

  torch::jit::Module model = load_torchscript(args.model);
  model.to(device);
  model.eval();
  AttentionHooker hooker(model, HookerOptions().layer_regex(args.layers).to_cpu(true));
  hooker.setup();
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!tokens.empty()) {
      // Ids are [1, len]; a tensor input is [len, batch, ...] or [batch, len, ...].
      const at::Tensor& first = inputs[i][0];
      const bool from_ids = args.input_tensors.empty();
      const int64_t count = static_cast<int64_t>(tokens.size());
      const bool fits = from_ids ? first.size(1) == count
                                 : (first.dim() >= 1 && first.size(0) == count) || (first.dim() >= 2 && first.size(1) == count);
      if (!fits) {
        throw Error(fmt::format("{} has {} tokens, but input {} has shape [{}]",
                                args.tokens_file.empty() ? "--tokens" : "--tokens-file '" + args.tokens_file + "'",
                                count, i, fmt::join(first.sizes(), ", ")));
      }
    }
    std::vector<c10::IValue> arguments;
    for (const auto& tensor : inputs[i]) arguments.emplace_back(tensor.to(device));
    hooker.clear();
    try {
      hooker.module().forward(arguments);
    } catch (const c10::Error& e) {
      throw Error(fmt::format("model '{}' failed on input {}: {}", args.model, i, e.what_without_backtrace()));
    }
    AttentionFile file;
    file.model = args.model;
    file.tokens = tokens;
    file.text = fmt::format("{}", fmt::join(tokens, " "));
    file.values = hooker.values();
    save(file, inputs.size() == 1 ? args.output : numbered(args.output, i), args.schema);
    progress(i + 1, inputs.size());
  }
}

}  // namespace attnhook::cli

// The plugin's entry point (see extract_plugin.cpp). LibTorch's own errors become
// attnhook::Error here, so the executable needs no LibTorch header to report them.
extern "C" void attnhook_cli_extract(const attnhook::cli::ExtractArgs& args) {
  try {
    attnhook::cli::run_extract(args);
  } catch (const c10::Error& e) {
    throw attnhook::Error(fmt::format("LibTorch: {}", e.what_without_backtrace()));
  }
}
