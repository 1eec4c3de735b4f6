// The at::Tensor rendering API (attnhook/render.h): tensor checks, then the torch-free
// renderer of src/view/ (grid.cpp, model_view.cpp, overlay*.cpp).
#include "attnhook/render.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "attnhook/error.h"
#include "overlay.h"

#include "tensor/render_layout.h"
#include "tensor/tensor_array.h"

namespace attnhook {
namespace {

detail::FloatArray checked(const at::Tensor& weights) {
  detail::check_floating(weights, "weights");
  return detail::to_array(weights);
}

detail::NamedCalls checked(const Values& values) {
  for (const auto& [name, calls] : values)
    for (size_t c = 0; c < calls.size(); ++c)
      detail::check_floating(calls[c], detail::call_label(name, c, calls.size()));
  return detail::to_calls(values);
}

// An image tensor as 8-bit RGB: uint8 as is, floating 0..1 (clipped) times 255.
detail::RgbImage to_image(const at::Tensor& image) {
  if (!image.defined()) throw Error("image is an undefined tensor");
  const bool bytes = image.scalar_type() == at::kByte;
  if (!bytes && !at::isFloatingType(image.scalar_type()))
    throw Error(
        fmt::format("image must be a uint8 (0..255) or floating (0..1) tensor; got dtype {}",
                    c10::toString(image.scalar_type())));
  const std::string shape = detail::shape_text(image.sizes().vec());
  at::Tensor hwc;  // [height, width, channels]
  if (image.dim() == 2) {
    hwc = image.unsqueeze(2);
  } else if (image.dim() == 3 && (image.size(2) == 3 || image.size(2) == 1)) {
    hwc = image;
  } else if (image.dim() == 3 && (image.size(0) == 3 || image.size(0) == 1)) {
    hwc = image.permute({1, 2, 0});
  } else {
    throw Error(fmt::format("image must be [height, width, 3 or 1], [3 or 1, height, width] or "
                            "[height, width]; got shape {}",
                            shape));
  }
  const int64_t height = hwc.size(0), width = hwc.size(1);
  if (!detail::image_size_ok(width, height))
    throw Error(
        fmt::format("image of shape {}: {}", shape, detail::image_size_problem(width, height)));
  at::Tensor rgb = hwc.detach().to(at::kCPU).expand({height, width, 3});
  if (!bytes) {
    if (!at::isfinite(rgb).all().item<bool>())
      throw Error(fmt::format("image of shape {} holds NaN or Inf", shape));
    rgb = rgb.to(at::kFloat).clamp(0, 1).mul(255).round().to(at::kByte);
  }
  rgb = rgb.contiguous();
  detail::RgbImage out;
  out.width = static_cast<int>(width);
  out.height = static_cast<int>(height);
  out.rgb.assign(rgb.data_ptr<uint8_t>(), rgb.data_ptr<uint8_t>() + rgb.numel());
  return out;
}

}  // namespace

namespace detail {

Layout layout_attention_grid(const at::Tensor& weights, const GridOptions& options) {
  return grid_layout(checked(weights), std::nullopt, options);
}

Layout layout_attention_heatmap(const at::Tensor& weights, int64_t head, const GridOptions& options) {
  return grid_layout(checked(weights), head, options);
}

ModelViewLayout layout_model_view(const Values& values, const ModelViewOptions& options) {
  return model_view_layout(checked(values), options);
}

}  // namespace detail

void save_attention_grid(const at::Tensor& weights, const std::string& path, const GridOptions& options) {
  detail::save_grid(checked(weights), std::nullopt, path, options);
}

void save_attention_heatmap(const at::Tensor& weights, int64_t head, const std::string& path,
                            const GridOptions& options) {
  detail::save_grid(checked(weights), head, path, options);
}

void save_model_view(const Values& values, const std::string& path, const ModelViewOptions& options) {
  detail::save_model_view(checked(values), path, options);
}

void save_attention_overlay(const at::Tensor& weights, const std::string& image_path,
                            const std::string& path, const OverlayOptions& options) {
  detail::save_overlay(checked(weights), image_path, path, options);
}

void save_attention_overlay(const at::Tensor& weights, const at::Tensor& image,
                            const std::string& path, const OverlayOptions& options) {
  const detail::FloatArray array = checked(weights);
  detail::overlay_maps(array, options);  // bad weights or options fail before the image is read
  detail::save_overlay(array, to_image(image), path, options);
}

}  // namespace attnhook
