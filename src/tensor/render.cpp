// The at::Tensor rendering API (attnhook/render.h): tensor checks, then the torch-free
// renderer of src/view/ (grid.cpp, model_view.cpp).
#include "attnhook/render.h"

#include <ATen/ATen.h>

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

}  // namespace attnhook
