// Internal (extract plugin): vision models. The input tensor of --image, and the patch grid
// stored in the attention file for `attnhook overlay` (attnhook/formats.h, PatchGrid).
//
// Detection (no --patch-grid): the input is an image tensor [B, C, H, W] and the model has
// a Conv2d patch embedding — the first torch.nn.Conv2d (model order) over C input channels,
// with stride == kernel, no padding, dilation 1. Its kernel comes from its weight
// [out, C, kh, kw]; stride, padding and dilation from the constants its graph passes to
// aten::conv2d / aten::_convolution (scripted and traced modules alike). The grid is then
// (H / kh) x (W / kw) patches, and the prefix tokens (class token, distillation token,
// registers) are the keys before them: src_len - rows * columns, the same in every layer.
#pragma once

#include <torch/script.h>

#include <optional>
#include <string>
#include <vector>

#include "attnhook/formats.h"
#include "attnhook/values.h"
#include "extract_request.h"

namespace attnhook::cli {

// --image's pixels as float32 [1, 3, size, size]: x / 255, then (x - mean) / std per
// channel (--image-mean, --image-std).
at::Tensor image_tensor(const ImageInput& image, const ExtractArgs& args);

// The patch embedding's kernel, found before the model runs: either a kernel [kh, kw] or
// why there is none (for the one line extract prints).
struct PatchEmbedding {
  std::optional<std::pair<int64_t, int64_t>> kernel;
  std::string module;      // its name, for messages
  std::string why_not;     // set when kernel is not
  int64_t image_rows = 0;  // H and W of the image tensor
  int64_t image_columns = 0;
};

// Looks for the patch embedding of `model` fed `inputs` (forward order). Not an image model
// (no input is a floating [B, C, H, W] tensor): kernel and why_not both empty.
PatchEmbedding find_patch_embedding(const torch::jit::Module& model,
                                    const std::vector<at::Tensor>& inputs);

// The grid to store for `values`: --patch-grid [--prefix-tokens] when given (an
// attnhook::Error when no layer has the keys they make), else the detected one (empty, with
// `why_not` set, when the layers do not fit it).
PatchGrid patch_grid_for(const ExtractArgs& args, const PatchEmbedding& embedding,
                         const Values& values, std::string& why_not);

}  // namespace attnhook::cli
