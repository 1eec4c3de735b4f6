// Internal: where the PNG renderer puts things, so tests can find each cell.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "attnhook/render.h"

namespace attnhook::detail {

struct Rect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

// Pixel layout of one picture. Cell (i, j) of panel p — query i, key j — covers
// x in [heatmaps[p].x + j * cell, + cell), y in [heatmaps[p].y + i * cell, + cell).
struct Layout {
  int width = 0;  // whole image
  int height = 0;
  int cell = 0;  // pixels a token, cells are square
  int64_t tgt_len = 0;
  int64_t src_len = 0;
  std::vector<int64_t> heads;  // head index drawn in each panel, row-major panel order
  std::vector<Rect> heatmaps;  // cell area of each panel: src_len*cell wide, tgt_len*cell tall
  Rect colorbar;               // colour strip: top pixel row = vmax, bottom row = vmin
  int columns = 0;             // panels a row
  int tgt_label_step = 0;      // every k-th row is labelled; 0 = no row labels
  int src_label_step = 0;      // every k-th column is labelled; 0 = no column labels
  double vmin = 0;             // colour scale actually used
  double vmax = 0;
};

// Same validation and layout as save_attention_grid / save_attention_heatmap; nothing
// is drawn or written.
Layout layout_attention_grid(const at::Tensor& weights, const GridOptions& options);
Layout layout_attention_heatmap(const at::Tensor& weights, int64_t head,
                                const GridOptions& options);

}  // namespace attnhook::detail
