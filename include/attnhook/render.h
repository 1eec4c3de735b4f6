// Rendering attention weights to PNG: a grid of every head of one layer, one head, or
// every head of every layer (the model view).
//
//   // weights: [batch, heads, tgt_len, src_len]
//   attnhook::save_attention_grid(weights, "layer0.png",
//       attnhook::GridOptions()
//           .tokens(tokens)       // default none: labels of rows and columns (self-attention)
//           .tgt_tokens(queries)  // default none: row labels (queries); overrides tokens
//           .src_tokens(keys)     // default none: column labels (keys); overrides tokens
//           .title("layers.0")    // default "": no title line
//           .batch(0)             // default 0: which sample of the batch
//           .heads({0, 3})        // default {}: every head, in order (grid only)
//           .colormap(attnhook::Colormap::kViridis)  // default kViridis
//           .vmin(0.0)            // default none: 0, or the smallest weight if one is negative
//           .vmax(1.0)            // default none: the largest weight shown (vmin + 1 if that
//                                 //   is not above vmin)
//           .columns(4)           // default 0: ceil(sqrt(heads shown))
//           .cell_size(3));       // default 0: automatic; pixels a token, cells are square
//
// Picture: row i is query (target) position i, column j is key (source) position j, so
// a cell is how much query i attends to key j. Every heatmap is titled "head h" (h is
// the index in the tensor), carries the token labels on both axes (columns rotated to
// read upwards; labels longer than 16 characters are cut; when cells are smaller than
// the text, only every k-th position is labelled, k in 1, 2, 5, 10, 20, 50, ...), and
// shares one colour scale, drawn as a colorbar with tick values on the right. A line
// under the title states the batch index and the axis lengths. Weights outside
// [vmin, vmax] take the end colours. Text uses CImg's built-in font, which draws Latin-1:
// the word-start marks 'Ġ' (GPT-2) and '▁' (SentencePiece) are drawn as '_', a newline in a
// token as \n, other characters outside Latin-1 as '?'. Output: 8-bit RGB PNG, white
// background.
//
// Automatic cell size: about 384 pixels for the longer axis of each grid heatmap
// (1..24 pixels a token) and 640 for a single heatmap (1..48 pixels a token).
//
// Inputs: any floating dtype, any device (copied to CPU float32 for drawing).
// Errors are attnhook::Error naming the bad value: wrong rank (the shape is quoted),
// empty tensor, non-floating dtype, batch or head out of range, a token list whose
// length is not tgt_len / src_len, NaN or Inf among the weights shown (with its index),
// a bad option (negative columns or cell_size, vmin >= vmax, non-finite vmin/vmax), an
// image too large (over 32768 pixels a side), and a path that cannot be written. Nothing
// is written on error: the picture is drawn in memory, written to a temporary file in the
// same directory, and renamed over `path` only when complete. `path` "-" is standard
// output; a symbolic link is followed (its target is replaced, the link stays); a device
// or FIFO is written directly (a write error such as "No space left on device" is named).
//
// The model view (after bertviz's): every head of every recorded layer as a thumbnail.
//
//   attnhook::save_model_view(hooker.values(), "model.png",
//       attnhook::ModelViewOptions()
//           .title("bert-base")     // default "": no title line
//           .batch(0)               // default 0: which sample of each layer's batch
//           .colormap(attnhook::Colormap::kMagma)  // default kViridis
//           .shared_scale(true)     // default false: each thumbnail on its own scale
//           .thumbnail_size(64));   // default 0: automatic; pixels a side of each slot
//
// Picture: one row of thumbnails per recorded call, in model order (values' order, then
// call order), labelled on the left with the layer name, followed by " #k" for call k of
// a module that was called several times, and under it "<tgt_len> queries x <src_len>
// keys". Head indexes head the columns; row r, column h is head h of that call. Inside
// a thumbnail, as in the grid, rows are query positions and columns key positions. Each
// thumbnail sits in a square slot of thumbnail_size pixels: the map keeps its aspect,
// its longer axis fills the slot and it is centred, so layers with different head
// counts, lengths or rectangular (cross-attention) maps share one picture. With at
// least as many pixels as tokens, cells are square and a whole number of pixels; with
// fewer, each pixel shows the largest weight it covers, so a sharp pattern (one key,
// the diagonal) stays visible. Automatic thumbnail_size: 1536 / (most heads of any
// row), within 32..128. Names longer than 48 characters keep their last 46 after "..".
//
// Colour scale: by default each thumbnail is scaled to its own range, from min(0, its
// smallest weight) to its largest (a thumbnail whose weights are all that lower end takes
// the bottom colour), so heads with diffuse attention stay readable next to sharp ones;
// the colorbar then reads 0..1, a share of each thumbnail's largest weight. bertviz
// instead draws every head on one absolute scale (line opacity = weight): shared_scale
// gives one scale for all thumbnails, from min(0, smallest weight shown) to the largest,
// and the colorbar shows those values. Text, colormaps and output are as for the grid.
//
// Errors are attnhook::Error naming the layer (and call, when there are several): values
// empty, an undefined, empty or non-floating tensor, a tensor that is not [batch, heads,
// tgt_len, src_len] (the shape is quoted), batch out of range for a layer, NaN or Inf
// (with its index), a negative thumbnail_size, an image too large (over 32768 pixels a
// side), and a path that cannot be written. Nothing is written on error.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>

#include "attnhook/render_options.h"
#include "attnhook/values.h"

namespace attnhook {

// Every head of one layer, as a grid of heatmaps.
// weights: [batch, heads, tgt_len, src_len] or [heads, tgt_len, src_len] (batch must be 0).
void save_attention_grid(const at::Tensor& weights, const std::string& path,
                         const GridOptions& options = GridOptions());

// One head, larger. weights: as for save_attention_grid, or [tgt_len, src_len] (head
// must be 0). options.heads() is ignored; everything else applies.
void save_attention_heatmap(const at::Tensor& weights, int64_t head, const std::string& path,
                            const GridOptions& options = GridOptions());

// Every head of every layer in `values` as thumbnails: a row per (layer, call) in model
// order, a column per head, one colorbar. Each tensor: [batch, heads, tgt_len, src_len].
void save_model_view(const Values& values, const std::string& path,
                     const ModelViewOptions& options = ModelViewOptions());

}  // namespace attnhook
