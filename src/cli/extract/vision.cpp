#include "extract/vision.h"

#include <fmt/format.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/torch.h>

#include <unordered_set>

#include "attnhook/error.h"
#include "commands.h"
#include "utf8.h"

namespace attnhook::cli {
namespace {

using detail::printable;

constexpr size_t kListedLayers = 4;  // a message names at most this many layers

// "__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d" -> "...conv.Conv2d"
bool is_conv2d(const torch::jit::Module& module) {
  const auto name = module.type()->name();
  if (!name) return false;
  std::string plain;
  for (const std::string& atom : name->atoms()) {
    if (atom.rfind("___torch_mangle_", 0) != 0) plain += (plain.empty() ? "" : ".") + atom;
  }
  return plain == "__torch__.torch.nn.modules.conv.Conv2d";
}

// An int[] argument that the graph fixes: a constant list, or a list of constant ints
// (scripted Conv2d builds its stride with prim::ListConstruct). "valid" padding is 0.
std::optional<std::vector<int64_t>> constant_ints(const torch::jit::Value* value) {
  if (const auto constant = torch::jit::toIValue(value)) {
    if (constant->isIntList()) return constant->toIntVector();
    if (constant->isInt()) return std::vector<int64_t>{constant->toInt(), constant->toInt()};
    if (constant->isString() && constant->toStringRef() == "valid")
      return std::vector<int64_t>{0, 0};
    return std::nullopt;
  }
  if (value->node()->kind() != c10::prim::ListConstruct) return std::nullopt;
  std::vector<int64_t> out;
  for (const torch::jit::Value* item : value->node()->inputs()) {
    const auto constant = torch::jit::toIValue(item);
    if (!constant || !constant->isInt()) return std::nullopt;
    out.push_back(constant->toInt());
  }
  if (out.size() == 1) out.push_back(out[0]);
  return out;
}

// Stride, padding and dilation of the first convolution in the module's methods:
// aten::conv2d / aten::convolution / aten::_convolution(input, weight, bias, stride,
// padding, dilation, ...), the same positions in all three.
struct ConvArguments {
  std::vector<int64_t> stride, padding, dilation;
};
std::optional<ConvArguments> conv_arguments(const torch::jit::Module& conv) {
  for (const auto& method : conv.get_methods()) {
    for (const torch::jit::Node* node : method.graph()->nodes()) {
      const auto kind = node->kind();
      if (kind != c10::aten::conv2d && kind != c10::aten::convolution &&
          kind != c10::aten::_convolution)
        continue;
      if (node->inputs().size() < 6) return std::nullopt;
      const auto stride = constant_ints(node->input(3)), padding = constant_ints(node->input(4)),
                 dilation = constant_ints(node->input(5));
      if (!stride || !padding || !dilation) return std::nullopt;
      return ConvArguments{*stride, *padding, *dilation};
    }
  }
  return std::nullopt;
}

std::string pair_text(const std::vector<int64_t>& values) {
  return fmt::format("{}", fmt::join(values, "x"));
}

// "17 keys in 'a', 20 in 'b'" for the first layers of `values`.
std::string key_counts(const Values& values) {
  std::vector<std::string> parts;
  for (const auto& [name, calls] : values) {
    if (parts.size() == kListedLayers) {
      parts.push_back("...");
      break;
    }
    parts.push_back(fmt::format("{} in '{}'", calls[0].size(3), printable(name, 60)));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

at::Tensor image_tensor(const ImageInput& image, const ExtractArgs& args) {
  const auto mean = parse_numbers(args.image_mean, 3), std = parse_numbers(args.image_std, 3);
  if (!mean)
    throw Error(
        fmt::format("--image-mean '{}' is not three numbers", printable(args.image_mean, 40)));
  if (!std)
    throw Error(
        fmt::format("--image-std '{}' is not three numbers", printable(args.image_std, 40)));
  const int64_t size = image.size;
  if (size < 1 || image.rgb.size() != static_cast<size_t>(size * size * 3)) {
    throw std::logic_error(
        fmt::format("--image: {} bytes for {} x {} pixels", image.rgb.size(), size, size));
  }
  const at::Tensor pixels =
      torch::from_blob(const_cast<uint8_t*>(image.rgb.data()), {size, size, 3}, torch::kUInt8)
          .permute({2, 0, 1})
          .to(torch::kFloat)
          .div(255);  // [3, size, size], 0..1
  const at::Tensor m = torch::tensor(*mean, torch::kDouble).to(torch::kFloat).view({3, 1, 1});
  const at::Tensor s = torch::tensor(*std, torch::kDouble).to(torch::kFloat).view({3, 1, 1});
  return pixels.sub(m).div(s).unsqueeze(0).contiguous();  // [1, 3, size, size]
}

PatchEmbedding find_patch_embedding(const torch::jit::Module& model,
                                    const std::vector<at::Tensor>& inputs) {
  PatchEmbedding out;
  const at::Tensor* image = nullptr;
  for (const at::Tensor& input : inputs) {
    if (input.dim() == 4 && input.is_floating_point()) {
      image = &input;
      break;
    }
  }
  if (!image) return out;
  const int64_t channels = image->size(1);
  out.image_rows = image->size(2);
  out.image_columns = image->size(3);
  std::unordered_set<const c10::ivalue::Object*> seen;
  for (const auto& item : model.named_modules()) {
    const torch::jit::Module& module = item.value;
    if (!seen.insert(module._ivalue().get()).second || !is_conv2d(module) ||
        !module.hasattr("weight"))
      continue;
    const c10::IValue weight_value = module.attr("weight");
    if (!weight_value.isTensor()) continue;
    const at::Tensor weight = weight_value.toTensor();  // [out, in / groups, kh, kw]
    if (weight.dim() != 4 || weight.size(1) != channels) continue;
    out.module = item.name;
    const std::string name = printable(item.name, 80);
    const std::vector<int64_t> kernel = {weight.size(2), weight.size(3)};
    const auto arguments = conv_arguments(module);
    if (!arguments) {
      out.why_not = fmt::format(
          "the stride of the first Conv2d over {} channels, '{}', is not a constant of its graph",
          channels, name);
    } else if (arguments->stride != kernel) {
      out.why_not = fmt::format(
          "the first Conv2d over {} channels, '{}', has kernel {} but stride {}: not a patch "
          "embedding",
          channels, name, pair_text(kernel), pair_text(arguments->stride));
    } else if (arguments->padding != std::vector<int64_t>{0, 0} ||
               arguments->dilation != std::vector<int64_t>{1, 1}) {
      out.why_not = fmt::format(
          "the first Conv2d over {} channels, '{}', has padding {} and dilation {}: not a "
          "patch embedding",
          channels, name, pair_text(arguments->padding), pair_text(arguments->dilation));
    } else if (out.image_rows < kernel[0] || out.image_columns < kernel[1]) {
      out.why_not = fmt::format("the image is {} x {} pixels, smaller than the {} patches of '{}'",
                                out.image_rows, out.image_columns, pair_text(kernel), name);
    } else {
      out.kernel = std::make_pair(kernel[0], kernel[1]);
    }
    return out;
  }
  out.why_not = fmt::format(
      "the model has no Conv2d over the image's {} channels (no ViT patch embedding)", channels);
  return out;
}

PatchGrid patch_grid_for(const ExtractArgs& args, const PatchEmbedding& embedding,
                         const Values& values, std::string& why_not) {
  PatchGrid grid;
  if (values.empty()) {
    if (!args.patch_grid.empty())
      throw Error("--patch-grid: the model recorded no attention to check it against");
    return grid;
  }
  if (!args.patch_grid.empty()) {
    const PatchGridFlag flag = parse_patch_grid_flag(args.patch_grid);
    grid.rows = flag.rows;
    grid.columns = flag.columns;
    const bool overflow = !flag.patches;
    const int64_t patches = flag.patches.value_or(0);
    // The first layer with room for the patches decides the prefix, unless it is given.
    for (const auto& [name, calls] : values) {
      const int64_t keys = calls[0].size(3);
      if (overflow || keys < patches) continue;
      if (args.prefix_tokens >= 0 && keys != args.prefix_tokens + patches) continue;
      grid.prefix_tokens = keys - patches;
      return grid;
    }
    if (args.prefix_tokens >= 0) {
      throw Error(fmt::format(
          "--patch-grid {} with --prefix-tokens {} makes {} keys, and no layer has that many "
          "(keys: {})",
          printable(args.patch_grid, 40), args.prefix_tokens,
          overflow ? "more than an int64 counts" : std::to_string(args.prefix_tokens + patches),
          key_counts(values)));
    }
    throw Error(fmt::format(
        "--patch-grid {} has {} patches, more than any layer has keys (keys: {})",
        printable(args.patch_grid, 40),
        overflow ? "more than an int64 counts" : std::to_string(patches), key_counts(values)));
  }
  if (!embedding.kernel) {
    why_not = embedding.why_not;
    return grid;
  }
  const int64_t rows = embedding.image_rows / embedding.kernel->first;
  const int64_t columns = embedding.image_columns / embedding.kernel->second;
  const int64_t keys = values.begin()->second[0].size(3);
  for (const auto& [name, calls] : values) {
    if (calls[0].size(3) != keys) {
      why_not = fmt::format("the layers differ in their number of keys ({})", key_counts(values));
      return grid;
    }
  }
  if (keys < rows * columns) {
    why_not = fmt::format(
        "'{}' makes {} x {} patches of the {} x {} image, but the layers have {} keys (windowed "
        "attention?)",
        printable(embedding.module, 80), rows, columns, embedding.image_rows,
        embedding.image_columns, keys);
    return grid;
  }
  grid.rows = rows;
  grid.columns = columns;
  grid.prefix_tokens = keys - rows * columns;
  return grid;
}

}  // namespace attnhook::cli
