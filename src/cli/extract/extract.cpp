// attnhook extract: load a TorchScript model, run it once per input, save every call, the
// model's outputs, its prediction and, for vision transformers, the patch grid.
// Built as the plugin attnhook-extract.so: the `attnhook` executable loads it (and with it
// LibTorch) only for this subcommand, so the drawing subcommands start in milliseconds.
// The entry point at the bottom is the plugin's C boundary (extract_abi.h).
#include <fmt/format.h>
#include <torch/script.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "atomic_file.h"
#include "attnhook/attnhook.h"
#include "commands.h"
#include "extract/forward.h"
#include "extract/layer_labels.h"
#include "extract/outputs.h"
#include "extract/vision.h"
#include "extract_abi.h"
#include "extract_request.h"
#include "utf8.h"

namespace attnhook::cli {
namespace {

using detail::printable;

at::Tensor load_tensor(const std::string& path) {
  const std::string bytes = detail::read_file(path, "input tensor");
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    throw Error(fmt::format("input tensor '{}' is not a torch.save'd tensor: {}",
                            printable(path, 4096), e.what_without_backtrace()));
  }
  if (!value.isTensor())
    throw Error(fmt::format("input tensor '{}' holds a {}, not a tensor", printable(path, 4096),
                            value.tagKind()));
  return value.toTensor();
}

std::string numbered(const std::string& output, size_t index) {
  const std::filesystem::path path(output);
  return (path.parent_path() /
          fmt::format("{}.{}{}", path.stem().string(), index, path.extension().string()))
      .string();
}

void save(const AttentionFile& file, const std::string& path, const std::string& schema) {
  detail::create_parent_directories(path, "attention file");
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npz") == 0)
    return save_npz(file, path);
  save_json(file, path, schema == "flat" ? JsonSchema::kFlat : JsonSchema::kAttnhook);
}

// Drawn only when stderr is a terminal: "[#####.....] 5/10".
void progress(size_t done, size_t total) {
  if (!::isatty(STDERR_FILENO)) return;
  const size_t width = 30, filled = total ? done * width / total : width;
  fmt::print(stderr, "\r[{}{}] {}/{}{}", std::string(filled, '#'), std::string(width - filled, '.'),
             done, total, done == total ? "\n" : "");
  std::fflush(stderr);
}

// The labelled inputs of one run, encoder input first (layer_labels.h). Tensor inputs are
// checked here: labels must fit a dimension ([len, batch, ...] or [batch, len, ...]).
std::vector<LabelledInput> labelled_inputs(const ExtractArgs& args, const ModelInput& input,
                                           const std::vector<at::Tensor>& tensors,
                                           const ForwardCall& call) {
  std::vector<LabelledInput> out;
  for (const Sequence* s : {&input.src, &input.tgt}) {
    if (!s->empty()) out.push_back({s == &input.tgt, s->tokens, s->mask, s->ids.size()});
  }
  for (size_t k = 0; k < tensors.size() && k < input.tensor_tokens.size(); ++k) {
    const auto& tokens = input.tensor_tokens[k];
    if (tokens.empty()) continue;
    const at::Tensor& tensor = tensors[k];
    const int64_t count = static_cast<int64_t>(tokens.size());
    const bool fits = (tensor.dim() >= 1 && tensor.size(0) == count) ||
                      (tensor.dim() >= 2 && tensor.size(1) == count);
    if (!fits) {
      throw Error(fmt::format("{} has {} tokens, but input {} has shape [{}]",
                              k == 0 && !args.tokens_file.empty()
                                  ? "--tokens-file '" + printable(args.tokens_file, 4096) + "'"
                              : k == 0 ? std::string("--tokens")
                                       : fmt::format("--tokens number {}", k + 1),
                              count, k, fmt::join(tensor.sizes(), ", ")));
    }
    const std::string& parameter = call.parameters[k];
    const bool decoder = parameter.rfind("tgt", 0) == 0 || parameter.rfind("decoder", 0) == 0;
    out.push_back({decoder, tokens, {}, tokens.size()});
  }
  return out;
}

}  // namespace

void run_extract(const ExtractRequest& request) {
  const ExtractArgs& args = request.args;
  const std::string extension = std::filesystem::path(args.output).extension().string();
  if (extension != ".json" && extension != ".npz") {
    throw Error(
        fmt::format("-o '{}': the output must end in .json or .npz", printable(args.output, 4096)));
  }
  if (args.schema != "attnhook" && args.schema != "flat") {
    throw Error(fmt::format("--schema '{}': expected attnhook or flat", printable(args.schema)));
  }
  torch::Device device(torch::kCPU);
  if (args.device == "cuda") {
    if (!torch::cuda::is_available())
      throw Error("--device cuda: CUDA is not available to this LibTorch");
    device = torch::Device(torch::kCUDA);
  } else if (args.device != "cpu") {
    throw Error(fmt::format("--device '{}': expected cpu or cuda", printable(args.device)));
  }

  // Everything that can be checked without the model is, before it loads.
  const std::vector<ModelInput>& inputs = request.inputs;
  if (inputs.empty()) throw Error("extract: the request holds no input");
  const std::vector<std::string> class_names =
      args.labels.empty() ? std::vector<std::string>{} : read_class_names(args.labels);
  std::vector<at::Tensor> tensors;
  for (const auto& path : inputs[0].tensor_files) tensors.push_back(load_tensor(path));
  if (!inputs[0].image.empty()) tensors.push_back(image_tensor(inputs[0].image, args));

  torch::jit::Module model = load_torchscript(args.model);
  model.to(device);
  model.eval();
  const PatchEmbedding patch_embedding = find_patch_embedding(model, tensors);
  bool told_no_grid = false;  // the reason is printed once, not once per input
  AttentionHooker hooker(model, HookerOptions().layer_regex(args.layers).to_cpu(true));
  hooker.setup();
  const ForwardPlan plan(hooker.module(), tensors.empty() ? args.forward_args : "auto");
  if (!tensors.empty() && args.forward_args != "auto") {
    throw Error(
        "--forward-args names token inputs; --input-tensor files are passed in the order given");
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ModelInput& input = inputs[i];
    const ForwardCall call =
        tensors.empty() ? plan.call(input, device) : plan.call(tensors, device);
    const std::vector<LabelledInput> labelled = labelled_inputs(args, input, tensors, call);
    hooker.clear();
    c10::IValue result;
    try {
      result = hooker.module().get_method("forward")(call.args, call.kwargs);
    } catch (const c10::Error& e) {
      throw Error(explain_failure(hooker.module(), args.model, input, call, plan.signature(),
                                  e.what_without_backtrace()));
    } catch (const std::exception& e) {  // the TorchScript interpreter's errors (JITException)
      throw Error(
          explain_failure(hooker.module(), args.model, input, call, plan.signature(), e.what()));
    }
    AttentionFile file;
    file.outputs = named_outputs(result);
    file.prediction = predict(file.outputs, class_names, args.labels);
    if (args.no_outputs) file.outputs.clear();
    file.model = args.model;
    file.text = input.text;
    file.values = hooker.values();
    std::string no_grid;
    file.patch_grid = patch_grid_for(args, patch_embedding, file.values, no_grid);
    if (!no_grid.empty() && !told_no_grid) {
      fmt::print(
          stderr,
          "attnhook: note: no patch grid stored: {}; attnhook overlay will need --patch-grid "
          "ROWSxCOLUMNS (or give it to extract)\n",
          no_grid);
      told_no_grid = true;
    }
    std::vector<LayerAxes> axes;
    for (const auto& [name, calls] : file.values)
      axes.push_back({name, calls[0].size(2), calls[0].size(3)});
    label_layers(file, axes, labelled);
    save(file, inputs.size() == 1 ? args.output : numbered(args.output, i), args.schema);
    progress(i + 1, inputs.size());
  }
}

}  // namespace attnhook::cli

// The plugin's C boundary (extract_abi.h): nothing is thrown across it. An
// attnhook::Error (and LibTorch's own errors) are the user's problem; anything else is
// reported as an internal error.
extern "C" uint32_t attnhook_extract_abi(void) { return ATTNHOOK_EXTRACT_ABI; }

extern "C" int attnhook_extract_v2(const attnhook_extract_request* request, char* error,
                                   size_t error_size) {
  auto answer = [&](int status, const std::string& message) {
    if (error && error_size > 0) {
      const size_t size = std::min(message.size(), error_size - 1);
      std::memcpy(error, message.data(), size);
      error[size] = '\0';
    }
    return status;
  };
  try {
    if (!request || request->abi != ATTNHOOK_EXTRACT_ABI) {
      return answer(ATTNHOOK_EXTRACT_BUG,
                    fmt::format("the extract plugin speaks version {} of its interface; the "
                                "request is version {}",
                                ATTNHOOK_EXTRACT_ABI, request ? request->abi : 0));
    }
    attnhook::cli::run_extract(
        attnhook::cli::request_from_cbor(request->request, request->request_size));
    return answer(ATTNHOOK_EXTRACT_OK, "");
  } catch (const attnhook::Error& e) {
    return answer(ATTNHOOK_EXTRACT_FAILED, e.what());
  } catch (const c10::Error& e) {
    return answer(ATTNHOOK_EXTRACT_FAILED, fmt::format("LibTorch: {}", e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    return answer(ATTNHOOK_EXTRACT_FAILED,
                  "out of memory (the input needs more memory than this machine has)");
  } catch (const std::exception& e) {
    return answer(ATTNHOOK_EXTRACT_BUG, e.what());
  } catch (...) {
    return answer(ATTNHOOK_EXTRACT_BUG, "an unknown exception");
  }
}
