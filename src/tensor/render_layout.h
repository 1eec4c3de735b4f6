// Internal: the renderer's layouts for the at::Tensor API (tests find each cell with
// these); the torch-free renderer itself is src/view/layout.h.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

#include "attnhook/render.h"
#include "layout.h"

namespace attnhook::detail {

// Same validation and layout as save_attention_grid / save_attention_heatmap /
// save_model_view; nothing is drawn or written.
Layout layout_attention_grid(const at::Tensor& weights, const GridOptions& options);
Layout layout_attention_heatmap(const at::Tensor& weights, int64_t head,
                                const GridOptions& options);
ModelViewLayout layout_model_view(const Values& values, const ModelViewOptions& options);

}  // namespace attnhook::detail
