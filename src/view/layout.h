// Internal: the PNG renderer without LibTorch — where it puts things (so tests can find
// each cell) and its entry points over arrays. The public at::Tensor functions of
// attnhook/render.h (which documents pictures, options and errors) convert and call these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attnhook/render_options.h"
#include "float_array.h"

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

// save_attention_grid (head: none) and save_attention_heatmap (head given) over an
// array of rank 4, 3 or 2. The tensor-specific checks (defined, floating dtype) are the
// caller's; every other check is here.
void save_grid(const FloatArray& weights, std::optional<int64_t> head, const std::string& path,
               const GridOptions& options);
// Same validation and layout as save_grid; nothing is drawn or written.
Layout grid_layout(const FloatArray& weights, std::optional<int64_t> head,
                   const GridOptions& options);

// One row of the model view: one call of one layer.
struct ModelViewRow {
  std::string label;  // layer name, + " #k" for call k of a module called several times
  int64_t heads = 0;
  int64_t tgt_len = 0;
  int64_t src_len = 0;
};

// Head `head` of rows[row]. Pixel (x, y) of `map` shows the largest weight of queries
// [y * tgt_len / map.height, ceil((y + 1) * tgt_len / map.height)) and keys
// [x * src_len / map.width, ceil((x + 1) * src_len / map.width)): one token each way
// when the slot has at least as many pixels as tokens (cells are then square).
struct ModelViewThumbnail {
  size_t row = 0;
  int64_t head = 0;
  Rect slot;        // square, ModelViewLayout::slot pixels a side
  Rect map;         // the map's pixels, centred in slot
  double vmin = 0;  // this thumbnail's colour scale
  double vmax = 0;
};

struct ModelViewLayout {
  int width = 0;  // whole image
  int height = 0;
  int slot = 0;                                // pixels a side of each square slot
  int columns = 0;                             // slots a row: the most heads of any row
  std::vector<ModelViewRow> rows;              // model order, then call order
  std::vector<ModelViewThumbnail> thumbnails;  // row by row, heads in order
  Rect colorbar;                               // top pixel row = vmax, bottom row = vmin
  double vmin = 0;  // the colorbar's scale: the shared scale, or 0..1 (a share of each
  double vmax = 0;  //   thumbnail's own range) by default
};

// save_model_view over arrays, each [batch, heads, tgt_len, src_len].
void save_model_view(const NamedCalls& values, const std::string& path,
                     const ModelViewOptions& options);
// Same validation and layout as save_model_view; nothing is drawn or written.
ModelViewLayout model_view_layout(const NamedCalls& values, const ModelViewOptions& options);

}  // namespace attnhook::detail
